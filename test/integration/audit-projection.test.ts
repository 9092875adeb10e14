import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import pg from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createPool } from '../../runtime/connections.ts';
import { sendControl, waitForState } from '../../runtime/runs.ts';
import { HEARTBEAT_THROTTLE } from '../../runtime/worker.ts';
import { ensureDatabase, startPostgres, type PostgresCluster } from '../../stack/postgres.ts';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import { migrate } from '../../store/migrate.ts';
import { createPgRunStore } from '../../store/runs.ts';
import { projectionQuery, RUNBOOK_WORKFLOW, type RunbookRunInput } from '../../workflows/definitions.ts';
import { uniqueId } from '../support/db.ts';
import { fakeActions, quietWorkerLogs, runbook, engineActivities } from '../support/engine.ts';
import { until } from '../support/poll.ts';

/**
 * golive's own Postgres may sit in the region that failed. A run must not depend on it: with
 * Postgres stopped mid-run the run completes, and the audit trail catches up when it returns.
 */

const pgBin = requireTool(loadToolchain({ pgBin: process.env.GOLIVE_PG_BIN }), 'pgBin');
let scratch: string;
let cluster: PostgresCluster;
let pool: pg.Pool;
let client: Client;
let worker: Worker;
let running: Promise<void>;
const taskQueue = uniqueId('projection');

beforeAll(async () => {
  quietWorkerLogs();
  scratch = await mkdtemp(join(tmpdir(), 'golive-projection-'));
  await chmod(scratch, 0o755);
  cluster = await startPostgres({ pgBin, dataDir: join(scratch, 'pg'), durable: false });
  pool = createPool(await ensureDatabase(cluster.url, 'golive'));
  await migrate(pool);
  client = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });
  worker = await Worker.create({
    connection: await NativeConnection.connect({ address: inject('temporalAddress') }),
    taskQueue,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities: engineActivities(createPgRunStore(pool), fakeActions([])),
    ...HEARTBEAT_THROTTLE,
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await client?.connection.close();
  await pool?.end();
  await cluster?.stop().catch(() => {});
  await rm(scratch, { recursive: true, force: true });
});

it('completes a run while golive\'s Postgres is stopped, then the trail catches up, complete and in order', async () => {
  const store = createPgRunStore(pool);
  const input: RunbookRunInput = {
    runbook: runbook({ steps: [{ id: 'before', action: 'noop' }, { id: 'hold', pause: {} }, { id: 'after', action: 'noop' }] }),
    requestedBy: 'rita',
    channel: 'cli',
  };
  const handle = await client.workflow.start(RUNBOOK_WORKFLOW, { workflowId: uniqueId('outage'), taskQueue, args: [input] });
  await waitForState(client, handle.workflowId, (state) => state.currentStep === 'hold');
  await until(async () => ((await store.events(handle.workflowId)).length >= 5 ? true : undefined), 10_000, 'the first events were not written');

  await cluster.stop();
  const historyAtOutage = (await handle.fetchHistory()).events?.length ?? 0;
  expect(await sendControl({ client, store, taskQueue }, handle.workflowId, 'resume', { actor: 'rita', channel: 'cli' })).toBe(`run ${handle.workflowId} resumed`);
  const result = await handle.result();
  expect(result.status).toBe('succeeded');
  const progress = await handle.query(projectionQuery);
  expect(progress.written).toBeLessThan(progress.recorded);

  // Retries of the pending write happen on the Temporal server: the history does not grow with them.
  await new Promise((resolve) => setTimeout(resolve, 4_000));
  const catchUp = client.workflow.getHandle(`${handle.workflowId}-audit-${(await handle.describe()).runId.slice(0, 8)}`);
  const catchUpEvents = (await catchUp.fetchHistory()).events?.length ?? 0;
  expect(catchUpEvents).toBeLessThan(10);
  expect(((await handle.fetchHistory()).events?.length ?? 0) - historyAtOutage).toBeLessThan(40);

  cluster = await startPostgres({ pgBin, dataDir: cluster.dataDir, port: cluster.port, durable: false });
  await catchUp.result();
  const events = await store.events(handle.workflowId);
  expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
  expect(events.length).toBe(progress.recorded);
  expect(events.map((event) => `${event.action}${event.stepId ? `:${event.stepId}` : ''}`)).toEqual([
    'run.started', 'run.preflight', 'step.started:before', 'step.succeeded:before', 'pause.started:hold',
    'control.resumed', 'pause.ended:hold', 'step.started:after', 'step.succeeded:after', 'run.finished',
  ]);
  const run = await store.getRun(handle.workflowId);
  expect(run?.status).toBe('succeeded');
  expect(run?.state.steps.map((step) => step.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
}, 90_000);
