import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { FAILOVER_WORKFLOW, type FailoverRecord, type FailoverRunInput } from '../../workflows/definitions.ts';
import { parseRoles } from '../../definitions/roles.ts';
import { createRoleDirectory } from '../../runtime/roles.ts';
import { testActivities } from './actions.ts';
import { startNamedBackend, type LocalServer } from './backends.ts';
import { golive, type CliResult } from './cli.ts';
import { uniqueId } from './db.ts';
import { createEngineHarness, shellEnv, type EngineHarness } from './engine.ts';
import type { ReplicaPair } from './replica.ts';
import { runSql } from './sql.ts';
import { until } from './poll.ts';

/** Waits until the standby has replayed everything the primary has written so far. */
export async function caughtUp(pair: ReplicaPair): Promise<void> {
  const { rows } = await runSql<{ lsn: string }>(pair.primary.url, 'SELECT pg_current_wal_lsn()::text AS lsn');
  await until(async () => {
    const behind = await runSql<{ bytes: number }>(pair.standby.url, 'SELECT pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::float8 AS bytes', [rows[0]!.lsn]);
    return behind.rows[0]!.bytes <= 0 ? true : undefined;
  }, 15_000, 'the standby never caught up with the primary');
}

/** Whether a server takes a write now: true, or the error it answered with. */
export async function takesWrites(url: string): Promise<true | string> {
  try {
    await runSql(url, 'CREATE TABLE IF NOT EXISTS write_probe (at timestamptz); INSERT INTO write_probe VALUES (now())');
    return true;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** The postgres targets of a pair, as a failover runbook names them. */
export function pairTargets(pair: ReplicaPair) {
  return {
    'db-primary': { type: 'postgres', url: pair.primary.url },
    'db-standby': { type: 'postgres', url: pair.standby.url },
  };
}

/** The steps every failover runbook starts with: exposure, gate, fence, re-check, promote. */
export function failoverSteps(options: { gate?: boolean } = {}) {
  const lag = (id: string) => ({ id, action: 'postgres.replication-lag', target: 'db-standby', with: { primary: 'db-primary', catchUp: '1s' }, assert: 'standbyInRecovery == true', retries: 0 });
  return [
    lag('check-lag'),
    ...(options.gate === false ? [] : [{ id: 'approve-failover', approval: { approvers: ['incident-commander'], timeout: '5m' } }]),
    { id: 'fence-old-primary', action: 'postgres.fence', target: 'db-primary', with: { connectTimeout: '2s' } },
    lag('recheck-lag'),
    { id: 'promote-standby', action: 'postgres.promote', target: 'db-standby' },
  ];
}

export const UNFENCE = { id: 'unfence-old-primary', compensates: 'fence-old-primary', action: 'postgres.unfence', target: 'db-primary' };

/** Starts a failover workflow on the harness's task queue. */
export function startFailover(harness: EngineHarness, input: Omit<FailoverRunInput, 'channel'>) {
  return harness.client.workflow.start<(input: FailoverRunInput) => Promise<FailoverRecord>>(FAILOVER_WORKFLOW, {
    workflowId: uniqueId('failover'),
    taskQueue: harness.taskQueue,
    args: [{ channel: 'cli', ...input } satisfies FailoverRunInput],
  });
}

/** The record a failed or aborted failover carries in its failure. */
export async function finalRecord(handle: { result(): Promise<FailoverRecord> }): Promise<FailoverRecord> {
  try {
    return await handle.result();
  } catch (error) {
    if (error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure && error.cause.details?.[0]) {
      return error.cause.details[0] as FailoverRecord;
    }
    throw error;
  }
}

/** A commander's shell next to the stack: a worker with the real actions and its own roles, a site to check, a folder for runbooks. */
export interface FailoverShell {
  harness: EngineHarness;
  site: LocalServer;
  folder: string;
  env: NodeJS.ProcessEnv;
  cli(...args: string[]): Promise<CliResult>;
  close(): Promise<void>;
}

/** `workerRoles` are the worker's (they decide); `shellRoles` are what the CLI's environment says (GOLIVE_ROLES). */
export async function startFailoverShell(prefix: string, roles: { worker: string; shell: string }, siteName: string): Promise<FailoverShell> {
  const harness = await createEngineHarness(prefix);
  await harness.startWorker(testActivities(), { roles: createRoleDirectory(parseRoles(roles.worker)) });
  const site = await startNamedBackend(siteName);
  const folder = await mkdtemp(join(tmpdir(), `golive-${prefix}-`));
  const env = shellEnv(harness, folder, { GOLIVE_ROLES: roles.shell });
  return {
    harness, site, folder, env,
    cli: (...args) => golive(args, { env }),
    async close() {
      await harness.close();
      await site.close();
      await rm(folder, { recursive: true, force: true });
    },
  };
}
