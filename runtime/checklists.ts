import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { DURATION_HINT, parseDuration } from '../definitions/duration.ts';
import { identifier } from '../definitions/fields.ts';
import type { Checklist } from '../definitions/schema.ts';
import { getChecklistRun, listChecklistRuns as listStoredChecklistRuns } from '../store/run-records.ts';
import { CHECKLIST_WORKFLOW, type Channel, type ChecklistRecord, type ChecklistRunInput } from '../workflows/definitions.ts';
import { NotFoundError, UserError } from './errors.ts';
import { findDefinition } from './runbook-catalog.ts';
import { runChannel } from './slack-channel.ts';

/** Checklist runs, the go-live gate: started for one service, read from golive's records. */

export interface StartChecklistOptions {
  checklist: Checklist;
  /** The service the gate is for; may be left out when the checklist's metadata names one. */
  service?: string;
  requestedBy: string;
  channel: Channel;
  taskQueue: string;
  /** Where the checklist came from (file path or the server's checklist name). */
  source?: string;
  comment?: string;
  /** How long sign-offs may take, as a duration (default 7d). */
  signOffTimeout?: string;
  /** The rollout this checklist gates, when it does. */
  rollout?: string;
  /** The Slack channel ID of the run's message when its definition names none (metadata.slack.channel wins). */
  slackChannel?: string;
}

/**
 * What a checklist workflow is started with. Refuses, before anything starts, a run without a
 * service, a service other than the one the checklist is written for, and a sign-off timeout that
 * is not a duration.
 */
export function checklistInput(options: Omit<StartChecklistOptions, 'taskQueue'>): ChecklistRunInput {
  const { checklist } = options;
  const name = checklist.metadata.name;
  const own = checklist.metadata.service;
  const service = options.service ?? own;
  if (service === undefined) throw new UserError(`checklist ${name} names no service: say which service goes live (--service NAME, or service in the API)`);
  if (!identifier.safeParse(service).success) throw new UserError(`service: "${service}" must be lower-case letters, digits and dashes (like orders)`);
  if (own !== undefined && own !== service) throw new UserError(`checklist ${name} is written for service ${own}, not ${service}; run it for ${own}, or use a checklist without metadata.service`);
  const { signOffTimeout } = options;
  if (signOffTimeout !== undefined && !((parseDuration(signOffTimeout) ?? 0) > 0)) {
    throw new UserError(`sign-off timeout: give ${DURATION_HINT} (longer than 0s), not "${signOffTimeout}"`);
  }
  return {
    checklist, service, requestedBy: options.requestedBy, channel: options.channel, source: options.source,
    comment: options.comment, signOffTimeout, rollout: options.rollout, slackChannel: runChannel(checklist, options.slackChannel),
  };
}

/**
 * Starts a checklist run and returns its run id (`orders-go-live-20261124-1532-k3f9`). The worker's
 * pre-flight then refuses targets that do not resolve and sign-offs nobody but the requester could give.
 */
export async function startChecklist(client: Client, options: StartChecklistOptions): Promise<string> {
  const input = checklistInput(options);
  // Loaded only to start: reading checklist runs needs no Temporal client.
  const { newRunId } = await import('./runs.ts');
  const runId = newRunId(`${input.service}-${input.checklist.metadata.name}`);
  await client.workflow.start(CHECKLIST_WORKFLOW, { workflowId: runId, taskQueue: options.taskQueue, args: [input] });
  return runId;
}

/** The answer to a run id golive has no checklist run of. */
export function unknownChecklistRun(runId: string): NotFoundError {
  return new NotFoundError(`no checklist run ${runId}: list them with \`golive checklist list\``);
}

/** A checklist run's record as golive's Postgres holds it: live while the run goes on, final once it ends. */
export async function readChecklistRun(pool: pg.Pool, runId: string): Promise<ChecklistRecord> {
  const record = await getChecklistRun(pool, runId);
  if (!record) throw unknownChecklistRun(runId);
  return record;
}

/** Checklist runs newest first, of one service or of all. */
export function listChecklistRuns(pool: pg.Pool, filter: { service?: string; limit: number }): Promise<ChecklistRecord[]> {
  return listStoredChecklistRuns(pool, filter);
}

/** The checklist of that metadata.name in a folder (the server's GOLIVE_CHECKLISTS_DIR). */
export async function findChecklist(folder: string, name: string, logger: { warn(fields: object, message: string): void }, where?: string): Promise<{ checklist: Checklist; file: string }> {
  const { definition, file } = await findDefinition(folder, 'Checklist', name, logger, where);
  return { checklist: definition, file };
}
