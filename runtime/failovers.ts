import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { inEnvironment } from '../definitions/failover.ts';
import type { Role, RoleDirectory } from '../definitions/roles.ts';
import type { Runbook } from '../definitions/schema.ts';
import { failoverServices, getFailover, listFailovers as listStoredFailovers, type FailoverFilter } from '../store/failovers.ts';
import { FAILOVER_WORKFLOW, type Channel, type FailoverRecord, type FailoverRunInput } from '../workflows/definitions.ts';
import { ControlForbidden, NotFoundError, UserError } from './errors.ts';
import { runChannel } from './slack-channel.ts';

/** Failovers and failover drills: started by an incident commander, read from golive's records. */

/** The role a person must hold, at the moment they ask, to start a failover or a failover drill. */
export const FAILOVER_ROLE: Role = 'incident-commander';

export interface StartFailoverOptions {
  runbook: Runbook;
  requestedBy: string;
  channel: Channel;
  taskQueue: string;
  /** Why: the incident, in the requester's words. Required. */
  reason: string;
  /** Go on past an exposure above the RPO objective, and why. */
  force?: string;
  /** A drill: the runbook runs with this drill environment's targets in place of its own. */
  environment?: string;
  trigger?: 'manual' | 'schedule';
  /** Where the runbook came from (file path or the server's runbook name). */
  source?: string;
  /** The Slack channel ID of the run's message when its definition names none (metadata.slack.channel wins). */
  slackChannel?: string;
}

/**
 * Refuses, before anything starts or is scheduled, a person who is not an incident commander now, by
 * the same look-up the worker's pre-flight makes again: `what` is what they asked for ("start a failover").
 */
export async function requireIncidentCommander(roles: RoleDirectory, user: string, what: string): Promise<void> {
  const held = await roles.rolesOf(user);
  if (!held.includes(FAILOVER_ROLE)) {
    throw new ControlForbidden(`${user} cannot ${what}: only an incident commander may (${user} holds ${held.join(', ') || 'no role'}); grant with \`golive roles grant ${user} ${FAILOVER_ROLE}\``);
  }
}

/**
 * What a failover workflow is started with, by a person or by a failover-drill schedule: the runbook with
 * the drill environment's targets in place of its own. Refuses an empty reason and an environment the
 * runbook does not declare.
 */
export function failoverInput(options: Omit<StartFailoverOptions, 'taskQueue'>): FailoverRunInput {
  const reason = options.reason.trim();
  if (reason === '') throw new UserError('a failover needs a reason: say why, in a few words (the incident); it is kept in the audit trail');
  const runbook = options.environment === undefined ? options.runbook : withEnvironment(options.runbook, options.environment);
  return {
    runbook,
    requestedBy: options.requestedBy,
    channel: options.channel,
    source: options.source,
    comment: reason,
    reason,
    force: options.force,
    drill: options.environment === undefined ? undefined : { environment: options.environment, trigger: options.trigger ?? 'manual' },
    slackChannel: runChannel(options.runbook, options.slackChannel),
  };
}

/**
 * Starts a failover (or, with an environment, a failover drill) and returns its run id. Refuses,
 * before anything starts, a requester who is not an incident commander now, an empty reason, and
 * an environment the runbook does not declare. The worker checks the role again before the first step.
 */
export async function startFailover(client: Client, roles: RoleDirectory, options: StartFailoverOptions): Promise<string> {
  await requireIncidentCommander(roles, options.requestedBy, 'start a failover');
  const input = failoverInput(options);
  // Loaded only to start: reading failovers needs no Temporal client.
  const { newRunId } = await import('./runs.ts');
  const runId = newRunId(input.runbook.metadata.name);
  await client.workflow.start(FAILOVER_WORKFLOW, { workflowId: runId, taskQueue: options.taskQueue, args: [input] });
  return runId;
}

function withEnvironment(runbook: Runbook, environment: string): Runbook {
  try {
    return inEnvironment(runbook, environment);
  } catch (error) {
    throw new UserError(`runbook ${runbook.metadata.name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The answer to a failover run id golive has no record of. */
export function unknownFailover(runId: string): NotFoundError {
  return new NotFoundError(`no failover ${runId}: list them with \`golive failover list\``);
}

/** A failover's record as golive's Postgres holds it: live while the run goes on, final once it ends. */
export async function readFailover(pool: pg.Pool, runId: string): Promise<FailoverRecord> {
  const record = await getFailover(pool, runId);
  if (!record) throw unknownFailover(runId);
  return record;
}

/** Failovers newest first; a service golive has no failover of is a mistake to name, not an empty list. */
export async function listFailovers(pool: pg.Pool, filter: FailoverFilter): Promise<FailoverRecord[]> {
  const failovers = await listStoredFailovers(pool, filter);
  if (failovers.length === 0 && filter.service !== undefined) {
    const services = await failoverServices(pool);
    if (!services.includes(filter.service)) {
      throw new UserError(`service: golive has no failovers of a service "${filter.service}"; ${services.length > 0 ? `services with failovers: ${services.join(', ')}` : 'no failovers recorded yet'}`);
    }
  }
  return failovers;
}
