import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { DefinitionError, loadChecklist } from '../definitions/load.ts';
import type { Role, RoleDirectory } from '../definitions/roles.ts';
import type { Checklist, RolloutPlan } from '../definitions/schema.ts';
import { getRollout, listRollouts as listStoredRollouts } from '../store/run-records.ts';
import {
  ROLLOUT_FINISHED, ROLLOUT_WORKFLOW, type Channel, type RolloutRecord, type RolloutRunInput, type RolloutStatus, type StepState,
} from '../workflows/definitions.ts';
import { ControlForbidden, NotFoundError, UserError } from './errors.ts';
import { findDefinition } from './runbook-catalog.ts';
import { runChannel } from './slack-channel.ts';

/** Phased rollouts: started by a release manager, read from golive's records. */

/** The role a person must hold, at the moment they ask, to start a rollout; the worker's pre-flight asks again. */
export const ROLLOUT_ROLE: Role = 'release-manager';

export interface StartRolloutOptions {
  plan: RolloutPlan;
  /** The checklist the plan names (spec.checklist), read when the rollout starts: see planChecklist. */
  checklist?: Checklist;
  requestedBy: string;
  channel: Channel;
  /** Where the plan came from: a file path, the server's plan name, or "ad hoc". */
  source?: string;
  comment?: string;
  taskQueue: string;
  /** The Slack channel ID of the run's message when its definition names none (metadata.slack.channel wins). */
  slackChannel?: string;
}

/**
 * Refuses, before anything starts, a person who is not a release manager now, by the same look-up
 * the worker's pre-flight makes again: `what` is what they asked for ("start a rollout").
 */
export async function requireReleaseManager(roles: RoleDirectory, user: string, what: string): Promise<void> {
  const held = await roles.rolesOf(user);
  if (!held.includes(ROLLOUT_ROLE)) {
    throw new ControlForbidden(`${user} cannot ${what}: only a release manager may (${user} holds ${held.join(', ') || 'no role'}); grant with \`golive roles grant ${user} ${ROLLOUT_ROLE}\``);
  }
}

/**
 * What a rollout workflow is started with. The checklist travels with the plan, pinned for the life
 * of the run, so it must be the one the plan names: a plan gated by a checklist never starts without it.
 */
export function rolloutInput(options: Omit<StartRolloutOptions, 'taskQueue'>): RolloutRunInput {
  const { plan, checklist } = options;
  const wanted = plan.spec.checklist;
  if (wanted !== undefined && checklist?.metadata.name !== wanted) {
    const given = checklist ? `, not ${checklist.metadata.name}` : '';
    throw new UserError(`rollout plan ${plan.metadata.name} is gated by checklist ${wanted}: start it with that checklist${given}`);
  }
  if (wanted === undefined && checklist !== undefined) {
    throw new UserError(`rollout plan ${plan.metadata.name} names no checklist (spec.checklist), so checklist ${checklist.metadata.name} would gate nothing`);
  }
  const comment = options.comment?.trim() || undefined;
  return { plan, requestedBy: options.requestedBy, channel: options.channel, source: options.source, comment, checklist, slackChannel: runChannel(plan, options.slackChannel) };
}

/**
 * Starts a rollout and returns its run id. Refuses, before anything starts, a requester who is not a
 * release manager now; the worker checks the role again before the gate.
 */
export async function startRollout(client: Client, roles: RoleDirectory, options: StartRolloutOptions): Promise<string> {
  await requireReleaseManager(roles, options.requestedBy, 'start a rollout');
  const input = rolloutInput(options);
  // Loaded only to start: reading rollouts needs no Temporal client.
  const { newRunId } = await import('./runs.ts');
  const runId = newRunId(input.plan.metadata.name);
  await client.workflow.start(ROLLOUT_WORKFLOW, { workflowId: runId, taskQueue: options.taskQueue, args: [input] });
  return runId;
}

/**
 * The checklist a plan names, from `<checklistsDir>/<name>.yaml` (or `.yml`); undefined when the plan
 * names none. A missing or invalid file is the user's to fix, and the message says which file.
 */
export async function planChecklist(plan: RolloutPlan, checklistsDir: string): Promise<Checklist | undefined> {
  const name = plan.spec.checklist;
  if (name === undefined) return undefined;
  const candidates = [`${name}.yaml`, `${name}.yml`].map((file) => join(checklistsDir, file));
  const found = await firstFile(candidates);
  const gated = `rollout plan ${plan.metadata.name} is gated by checklist ${name}`;
  if (found === undefined) {
    throw new UserError(`${gated}, and there is no ${candidates[0]} (or .yml): put the checklist there (GOLIVE_CHECKLISTS_DIR), then check it with \`golive validate ${candidates[0]}\``);
  }
  let checklist: Checklist;
  try {
    checklist = await loadChecklist(found);
  } catch (error) {
    if (!(error instanceof DefinitionError)) throw error;
    throw new UserError(`${gated}, and ${found} is not a valid checklist; nothing started. Fix it (\`golive validate ${found}\`):\n${error.message}`);
  }
  if (checklist.metadata.name !== name) {
    throw new UserError(`${gated}, and ${found} names checklist ${checklist.metadata.name} (metadata.name); rename one so they agree`);
  }
  return checklist;
}

async function firstFile(paths: readonly string[]): Promise<string | undefined> {
  for (const path of paths) {
    if (await stat(path).then((info) => info.isFile(), () => false)) return path;
  }
  return undefined;
}

/** The rollout plan of that metadata.name in a folder (the server's, or GOLIVE_ROLLOUTS_DIR on the command line). */
export async function findRolloutPlan(folder: string, name: string, logger: { warn(fields: object, message: string): void }, where?: string): Promise<{ plan: RolloutPlan; file: string }> {
  const { definition, file } = await findDefinition(folder, 'RolloutPlan', name, logger, where);
  return { plan: definition, file };
}

/** The answer to a rollout run id golive has no record of. */
export function unknownRollout(runId: string): NotFoundError {
  return new NotFoundError(`no rollout ${runId}: list them with \`golive rollout list\``);
}

/** Asks an open rollout for its record (the `rollout` query); undefined when there is no such rollout to ask. */
export type RolloutQuery = (runId: string) => Promise<RolloutRecord | undefined>;

/**
 * A rollout's record: golive's Postgres holds it (every audit batch carries it) and has the final one;
 * while the run goes on, `live` asks the workflow, whose guard readings are newer than the last batch,
 * and which answers before the first batch is written. A run that does not answer the query (not a
 * rollout, or Temporal out of reach) is read from Postgres alone.
 */
export async function readRollout(pool: pg.Pool, runId: string, live?: RolloutQuery): Promise<RolloutRecord> {
  const stored = await getRollout(pool, runId);
  if (stored && ROLLOUT_FINISHED.includes(stored.status)) return stored;
  const answered = live && (await live(runId).catch(() => undefined));
  const record = answered ?? stored;
  if (!record) throw unknownRollout(runId);
  return record;
}

/** Rollouts newest first, of one service or of all. */
export function listRollouts(pool: pg.Pool, filter: { service?: string; limit: number }): Promise<RolloutRecord[]> {
  return listStoredRollouts(pool, filter);
}

/** What `golive rollout status RUN --json` prints and GET /api/rollouts/{id} answers (with the record beside it). */
export interface RolloutStatusView {
  runId: string;
  plan: string;
  service: string;
  /** The flag's key. */
  flag: string;
  status: RolloutStatus;
  /** The phase in progress, 1-based; 0 before the first percentage is set. */
  phase: number;
  percent: number;
  /** When the next phase starts if nothing breaches; null while the run waits for a person, or has ended. */
  nextPhaseAt: string | null;
  guards: Array<{ name: string; value: number | null; threshold: string; ok: boolean | null; at: string }>;
  steps: StepState[];
}

/** The status of a rollout, from its record: the same fields whichever way it is read. */
export function rolloutStatus(record: RolloutRecord): RolloutStatusView {
  return {
    runId: record.runId,
    plan: record.plan,
    service: record.service,
    flag: record.flag.key,
    status: record.status,
    phase: record.phase,
    percent: record.percent,
    nextPhaseAt: record.nextPhaseAt ?? null,
    guards: record.guards.map(({ name, value, threshold, ok, at }) => ({ name, value, threshold, ok, at })),
    steps: record.steps,
  };
}
