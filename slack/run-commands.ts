import type { Role } from '../definitions/roles.ts';
import { SLACK_CHANNEL_ID } from '../definitions/fields.ts';
import { findChecklist, startChecklist } from '../runtime/checklists.ts';
import { ControlConflict, ControlForbidden, NotFoundError, StackUnavailable, UserError } from '../runtime/errors.ts';
import { readFailover, requireIncidentCommander, startFailover } from '../runtime/failovers.ts';
import { listDrills, readPosture } from '../runtime/posture.ts';
import { startProtectionRun } from '../runtime/protection.ts';
import { findRolloutPlan, planChecklist, readRollout, requireReleaseManager, rolloutStatus, startRollout } from '../runtime/rollouts.ts';
import { getRunState, sendControl } from '../runtime/runs.ts';
import { runChannel } from '../runtime/slack-channel.ts';
import { ApiError } from '../server/errors.ts';
import { serverRunbook } from '../server/routes/runs.ts';
import { rolloutQuery } from '../workflows/definitions.ts';
import { FAILOVER_CONTROLS, helpText, ROLLOUT_CONTROLS, type SlackCommand } from './commands.ts';
import { controlStack, type SlackActor, type SlackDeps } from './deps.ts';
import {
  appliedText, drillHistoryText, drillStatusText, FAILED_TEXT, failoverStatusText, postureText, refusedText, rolloutStatusText, runStatusText, startedText,
} from './replies.ts';

/** Everything `/golive` does after its ack: start, control or read a run, as the Slack user who typed it. */

/** Who may start a checklist run or a restore drill from Slack: the roles that may control runs. */
const STARTER_ROLES: readonly Role[] = ['release-manager', 'incident-commander'];
const HISTORY_LIMIT = 10;

async function requireOneOf(deps: SlackDeps, user: string, wanted: readonly Role[], what: string): Promise<void> {
  const held = await deps.roles.rolesOf(user);
  if (held.some((role) => wanted.includes(role))) return;
  throw new ControlForbidden(`${user} cannot ${what}: only a ${wanted.join(' or ')} may (${user} holds ${held.join(', ') || 'no role'})`);
}

/**
 * The channel of a started run's message when its definition names none: where the command was typed,
 * unless that is a direct message, then GOLIVE_SLACK_CHANNEL.
 */
export function fallbackChannel(deps: SlackDeps, actor: SlackActor): string | undefined {
  return actor.channel !== undefined && SLACK_CHANNEL_ID.test(actor.channel) ? actor.channel : deps.slack?.channel;
}

/** Where a started run's message will be, if it has one: a run posts only with a bot token. */
function messageChannel(deps: SlackDeps, definition: Parameters<typeof runChannel>[0], fallback: string | undefined): string | undefined {
  return deps.slack?.token === undefined ? undefined : runChannel(definition, fallback);
}

type StartCommand = Extract<SlackCommand, { kind: 'rollout-start' | 'failover-start' | 'checklist-run' | 'drill-run' }>;

async function startFromSlack(deps: SlackDeps, command: StartCommand, actor: SlackActor): Promise<string> {
  const requestedBy = actor.user;
  const common = { requestedBy, channel: 'slack' as const, taskQueue: deps.taskQueue };
  const fallback = fallbackChannel(deps, actor);
  const log = deps.logger;
  switch (command.kind) {
    case 'rollout-start': {
      // Before any file is read: a person who may not start a rollout learns nothing about the server's plans.
      await requireReleaseManager(deps.roles, requestedBy, 'start a rollout');
      const { plan } = await findRolloutPlan(deps.rolloutsDir ?? 'rollouts', command.plan, log, "the server's rollouts folder");
      const checklist = await planChecklist(plan, deps.checklistsDir ?? 'checklists');
      const runId = await startRollout(deps.client, deps.roles, { ...common, plan, checklist, source: command.plan, comment: command.comment, slackChannel: fallback });
      return startedText(`the rollout of plan ${command.plan}`, runId, messageChannel(deps, plan, fallback));
    }
    case 'failover-start': {
      await requireIncidentCommander(deps.roles, requestedBy, 'start a failover');
      const { runbook } = await serverRunbook(deps.runbooksDir, command.runbook, log);
      const runId = await startFailover(deps.client, deps.roles, {
        ...common, runbook, source: command.runbook, reason: command.reason, environment: command.environment, slackChannel: fallback,
      });
      const what = command.environment === undefined ? 'failover' : `failover drill (environment ${command.environment})`;
      return startedText(`the ${what} of ${command.runbook}`, runId, messageChannel(deps, runbook, fallback));
    }
    case 'checklist-run': {
      await requireOneOf(deps, requestedBy, STARTER_ROLES, 'run a checklist');
      const { checklist } = await findChecklist(deps.checklistsDir ?? 'checklists', command.checklist, log, "the server's checklists folder");
      const runId = await startChecklist(deps.client, { ...common, checklist, service: command.service, source: command.checklist, comment: command.comment, slackChannel: fallback });
      return startedText(`checklist ${command.checklist}`, runId, messageChannel(deps, checklist, fallback));
    }
    case 'drill-run': {
      await requireOneOf(deps, requestedBy, STARTER_ROLES, 'start a restore drill');
      const { runbook } = await serverRunbook(deps.runbooksDir, command.runbook, log);
      const runId = await startProtectionRun(deps.client, { ...common, kind: 'drill', runbook, source: command.runbook, freshBackup: command.freshBackup });
      return startedText(`a restore drill of ${command.runbook}`, runId, undefined);
    }
  }
}

const GROUP_CONTROLS: Record<'rollout' | 'failover', readonly string[]> = { rollout: ROLLOUT_CONTROLS, failover: FAILOVER_CONTROLS };

/** A control from a subcommand group (`/golive failover abort RUN`) applies only to runs of that kind. */
async function requireKind(deps: SlackDeps, runId: string, kind: 'rollout' | 'failover' | undefined, control: string): Promise<void> {
  if (kind === undefined) return;
  const recorded = await deps.store.getRun(runId).catch(() => undefined);
  if (!recorded || recorded.kind === kind) return;
  const other = recorded.kind === 'rollout' || recorded.kind === 'failover' ? recorded.kind : undefined;
  const instead = other !== undefined && GROUP_CONTROLS[other].includes(control)
    ? `type \`/golive ${other} ${control} ${runId}\``
    : `${control} it with \`golive ${control} ${runId}\` or the API`;
  throw new ControlConflict(`run ${runId} is a ${recorded.kind} run, not a ${kind}; nothing changed. To ${control} it, ${instead}`);
}

/** Runs a parsed command and returns the answer for the person who typed it; refusals are thrown, see failureText. */
export async function runCommand(deps: SlackDeps, command: SlackCommand, actor: SlackActor): Promise<string> {
  switch (command.kind) {
    case 'help':
      return helpText();
    case 'posture':
      return postureText(await readPosture(deps.protection, deps.runbooksDir));
    case 'status':
      return runStatusText(await getRunState(deps.client, deps.store, command.runId));
    case 'rollout-status': {
      const record = await readRollout(deps.pool, command.runId, (id) => deps.client.workflow.getHandle(id).query(rolloutQuery));
      return rolloutStatusText(rolloutStatus(record));
    }
    case 'failover-status':
      return failoverStatusText(await readFailover(deps.pool, command.runId));
    case 'drill-status': {
      const drill = await deps.protection.getDrill(command.runId);
      if (!drill) throw new NotFoundError(`no drill ${command.runId}: list drills with \`/golive drill history\``);
      return drillStatusText(drill);
    }
    case 'drill-history':
      return drillHistoryText(await listDrills(deps.protection, { service: command.service, limit: HISTORY_LIMIT }), command.service);
    case 'control': {
      await requireKind(deps, command.runId, command.of, command.control);
      const message = await sendControl(controlStack(deps), command.runId, command.control, {
        actor: actor.user, channel: 'slack', comment: command.comment, stepId: command.stepId,
      });
      deps.logger.info({ runId: command.runId, control: command.control, actor: actor.user }, 'control applied through Slack');
      return appliedText(message);
    }
    default: {
      const text = await startFromSlack(deps, command, actor);
      deps.logger.info({ command: command.kind, actor: actor.user }, 'run started through Slack');
      return text;
    }
  }
}

/**
 * What a person is told when golive refused or failed: the runtime's reason for a refusal (roles,
 * four-eyes, a decided or closed gate, an unknown run or file), a generic line for golive's own failures.
 */
export function failureText(error: unknown, deps: Pick<SlackDeps, 'logger'>, context: Record<string, unknown>): string {
  if (error instanceof UserError || error instanceof StackUnavailable) {
    deps.logger.info({ ...context, refusal: error.message }, 'Slack request refused');
    return refusedText(error.message);
  }
  if (error instanceof ApiError && error.status < 500) {
    deps.logger.info({ ...context, refusal: error.message }, 'Slack request refused');
    return refusedText(error.message);
  }
  deps.logger.error({ ...context, err: error }, 'Slack request failed');
  return FAILED_TEXT;
}
