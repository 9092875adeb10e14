import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitForState } from '../../runtime/runs.ts';
import { RUNBOOK_WORKFLOW, type RunbookRunInput } from '../../workflows/definitions.ts';
import { createTestDatabase, uniqueId } from '../support/db.ts';
import { workerProcesses, type WorkerProcesses } from '../support/worker-process.ts';
import { createEngineHarness, runbook, type EngineHarness } from '../support/engine.ts';

let harness: EngineHarness;
let target: Awaited<ReturnType<typeof createTestDatabase>>;
let targetPool: pg.Pool;
let workers: WorkerProcesses | undefined;

function startWorkerProcess(databaseUrl: string): ChildProcess {
  workers ??= workerProcesses({ databaseUrl, taskQueue: harness.taskQueue }, 'warn');
  return workers.start({ CRASH_TARGET_URL: target.url });
}

beforeAll(async () => {
  harness = await createEngineHarness('crash');
  target = await createTestDatabase('crash_target');
  targetPool = new pg.Pool({ connectionString: target.url });
  await targetPool.query('CREATE TABLE effects (key text PRIMARY KEY, step text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
});

afterAll(async () => {
  workers?.killAll();
  await targetPool.end();
  await target.drop();
  await harness.close();
});

const effect = (id: string, sql = `INSERT INTO effects (key, step) VALUES ($1, '${id}') ON CONFLICT (key) DO NOTHING`) => ({
  id,
  action: 'postgres.query',
  target: 'app',
  with: { sql, params: ['{{idempotencyKey}}'] },
  timeout: '6s',
});

it('a worker killed during a step: a new worker finishes the run, each side effect applied once, each transition audited once', async () => {
  const input: RunbookRunInput = {
    runbook: runbook({
      targets: { app: { type: 'postgres', url: '${CRASH_TARGET_URL}' } },
      steps: [
        effect('first'),
        effect('slow', "INSERT INTO effects (key, step) SELECT $1, 'slow' FROM pg_sleep(3) ON CONFLICT (key) DO NOTHING"),
        effect('last'),
      ],
    }),
    requestedBy: 'rita',
    channel: 'cli',
  };
  const handle = await harness.client.workflow.start(RUNBOOK_WORKFLOW, { workflowId: uniqueId('crash'), taskQueue: harness.taskQueue, args: [input] });
  const { databaseUrl } = harness;

  const first = startWorkerProcess(databaseUrl);
  await waitForState(harness.client, handle.workflowId, (state) => state.currentStep === 'slow' && state.status === 'running', 60_000);
  first.kill('SIGKILL');
  startWorkerProcess(databaseUrl);
  const result = await handle.result();
  expect(result.status).toBe('succeeded');

  const { rows } = await targetPool.query<{ key: string; step: string }>('SELECT key, step FROM effects ORDER BY applied_at');
  expect(rows).toEqual(['first', 'slow', 'last'].map((step) => ({ key: `${handle.workflowId}:${step}`, step })));

  const events = await harness.store.events(handle.workflowId);
  for (const step of ['first', 'slow', 'last']) {
    expect(events.filter((event) => event.stepId === step).map((event) => event.action)).toEqual(['step.started', 'step.succeeded']);
  }
  expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));

  const history = await handle.fetchHistory();
  const attempts = (history.events ?? []).flatMap((event) => (event.activityTaskStartedEventAttributes ? [event.activityTaskStartedEventAttributes.attempt] : []));
  expect(Math.max(...attempts.map(Number))).toBeGreaterThanOrEqual(2);
}, 120_000);
