import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitForState } from '../../runtime/runs.ts';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import { workerProcesses, type WorkerProcesses } from '../support/worker-process.ts';
import { createEngineHarness, runbook, settledEvents, type EngineHarness } from '../support/engine.ts';
import { caughtUp, failoverSteps, startFailover, takesWrites, UNFENCE } from '../support/failover.ts';
import { startReplicaPair, type ReplicaPair } from '../support/replica.ts';
import { runSql } from '../support/sql.ts';
import { holdAfter, type HoldingProxy } from '../support/tcp-hold.ts';
import { until } from '../support/poll.ts';

/**
 * A worker process killed while the standby is being promoted: a new worker finishes the
 * failover, and the standby was promoted once (one timeline up, not two). The first worker
 * reaches the standby through a proxy that holds the answer to `pg_promote`, so it is killed
 * after the server has been told to promote and before the step learns it did.
 */

let harness: EngineHarness;
let pair: ReplicaPair;
let workers: WorkerProcesses | undefined;
let proxy: HoldingProxy | undefined;

function startWorkerProcess(standbyUrl: string): ChildProcess {
  workers ??= workerProcesses({ databaseUrl: harness.databaseUrl, taskQueue: harness.taskQueue }, 'warn');
  return workers.start({ GOLIVE_ROLES: 'ivan=incident-commander,irene=incident-commander', CRASH_PRIMARY_URL: pair.primary.url, CRASH_STANDBY_URL: standbyUrl });
}

beforeAll(async () => {
  harness = await createEngineHarness('failover_crash');
  pair = await startReplicaPair(requireTool(loadToolchain({ pgBin: process.env.GOLIVE_PG_BIN }), 'pgBin'));
  await runSql(pair.primary.url, "CREATE TABLE orders (id serial PRIMARY KEY); INSERT INTO orders SELECT FROM generate_series(1, 100)");
  await caughtUp(pair);
});

afterAll(async () => {
  workers?.killAll();
  await proxy?.close();
  await harness?.close();
  await pair?.stop();
});

it('a worker killed while promoting: the next worker finishes the failover without promoting twice', async () => {
  const timeline = async () => (await runSql<{ timeline: number }>(pair.standby.url, 'SELECT timeline_id AS timeline FROM pg_control_checkpoint()')).rows[0]!.timeline;
  const before = await timeline();
  await pair.crashPrimary();
  const handle = await startFailover(harness, {
    runbook: runbook({
      targets: { 'db-primary': { type: 'postgres', url: '${CRASH_PRIMARY_URL}' }, 'db-standby': { type: 'postgres', url: '${CRASH_STANDBY_URL}' } },
      steps: [...failoverSteps({ gate: false }), { id: 'after-promote', action: 'noop' }],
      rollback: [UNFENCE],
    }),
    requestedBy: 'ivan',
    reason: 'primary region lost',
  });
  proxy = await holdAfter(pair.standby.url, 'pg_promote');
  const first = startWorkerProcess(proxy.url);
  await proxy.held;
  const promoted = async () => (await runSql<{ primary: boolean }>(pair.standby.url, 'SELECT NOT pg_is_in_recovery() AS primary')).rows[0]!.primary || undefined;
  await until(promoted, 30_000, 'the standby never left recovery after pg_promote');
  expect(await waitForState(harness.client, handle.workflowId, () => true)).toMatchObject({ status: 'running', currentStep: 'promote-standby' });
  first.kill('SIGKILL');
  startWorkerProcess(pair.standby.url);
  const record = await handle.result();

  expect(record).toMatchObject({ status: 'succeeded', fenced: 'unreachable', promoted: { target: 'db-standby', timeline: before + 1 } });
  expect(await takesWrites(pair.standby.url)).toBe(true);
  const events = await settledEvents(harness, handle.workflowId);
  expect(events.filter((event) => event.stepId === 'promote-standby').map((event) => event.action)).toEqual(['step.started', 'step.succeeded']);
}, 120_000);
