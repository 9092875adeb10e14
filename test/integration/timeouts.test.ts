import { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import pg from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import { migrate } from '../../store/migrate.ts';
import { createPgRunStore, type RunStore } from '../../store/runs.ts';
import { RUNBOOK_WORKFLOW, type RunbookRunInput } from '../../workflows/definitions.ts';
import { createTestDatabase, uniqueId } from '../support/db.ts';
import { fakeActions, quietWorkerLogs, runbook, engineActivities } from '../support/engine.ts';

let env: TestWorkflowEnvironment;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
let store: RunStore;

beforeAll(async () => {
  quietWorkerLogs();
  const path = requireTool(loadToolchain(), 'temporalTestServer');
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
  database = await createTestDatabase('timeouts');
  pool = new pg.Pool({ connectionString: database.url });
  await migrate(pool);
  store = createPgRunStore(pool);
});

afterAll(async () => {
  await env?.teardown();
  await pool?.end();
  await database?.drop();
});

it('a gate nobody decides times out after its timeout, fails the run and rolls back; a timed pause simply elapses', async () => {
  const calls: string[] = [];
  const taskQueue = uniqueId('timeouts');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities: engineActivities(store, fakeActions(calls)),
  });
  const input: RunbookRunInput = {
    runbook: runbook({
      steps: [
        { id: 'prepare', action: 'noop' },
        { id: 'bake', pause: { duration: '6h' } },
        { id: 'approve', approval: { approvers: ['incident-commander'], timeout: '2d' } },
        { id: 'never', action: 'noop' },
      ],
      rollback: [{ id: 'undo-prepare', compensates: 'prepare', action: 'noop' }],
    }),
    requestedBy: 'rita',
    channel: 'cli',
  };
  const workflowId = uniqueId('timeout');
  const failure = await worker.runUntil(
    env.client.workflow.execute(RUNBOOK_WORKFLOW, { workflowId, taskQueue, args: [input] }).then(() => undefined, (error: unknown) => error),
  );
  expect(failure).toBeInstanceOf(WorkflowFailedError);
  const run = await store.getRun(workflowId);
  expect(run?.state.reason).toBe('step approve failed: approval gate approve had no decision within 2d');
  expect(run?.state.steps.map((step) => [step.id, step.status])).toEqual([['prepare', 'succeeded'], ['bake', 'succeeded'], ['approve', 'failed'], ['never', 'pending']]);
  const bake = run?.state.steps[1];
  expect(Date.parse(bake?.finishedAt ?? '') - Date.parse(bake?.startedAt ?? '')).toBeGreaterThanOrEqual(6 * 3_600_000);
  expect(calls).toEqual(['prepare', 'undo-prepare']);
  expect((await store.events(workflowId)).map((event) => event.action)).toContain('approval.timed-out');
});
