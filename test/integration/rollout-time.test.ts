import { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import pg from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createActionActivities } from '../../activities/catalog.ts';
import { createRoleDirectory } from '../../runtime/roles.ts';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import { createFlagStore, type FlagStore } from '../../store/flags.ts';
import { migrate } from '../../store/migrate.ts';
import { createPgRunStore, type RunStore } from '../../store/runs.ts';
import { ROLLOUT_WORKFLOW, type RolloutRecord } from '../../workflows/definitions.ts';
import { createTestDatabase, uniqueId } from '../support/db.ts';
import { engineActivities, quietWorkerLogs } from '../support/engine.ts';
import { ROLLOUT_ROLES, rolloutInput, rolloutPlan } from '../support/rollout.ts';

let env: TestWorkflowEnvironment;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
let store: RunStore;
let flags: FlagStore;

beforeAll(async () => {
  quietWorkerLogs();
  const path = requireTool(loadToolchain(), 'temporalTestServer');
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
  database = await createTestDatabase('rollout_time');
  pool = new pg.Pool({ connectionString: database.url });
  await migrate(pool);
  store = createPgRunStore(pool);
  flags = createFlagStore(pool);
});

afterAll(async () => {
  await env?.teardown();
  await pool?.end();
  await database?.drop();
});

/** Runs a rollout to its end on a time-skipping server; the record it ended with. */
async function runToEnd(plan: ReturnType<typeof rolloutPlan>): Promise<{ record: RolloutRecord; rollbacks: RolloutRecord[]; wallMs: number }> {
  const rollbacks: RolloutRecord[] = [];
  const taskQueue = uniqueId('rollout-time');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities: engineActivities(store, createActionActivities({ env: {}, pgBin: '', flags }), { roles: createRoleDirectory(ROLLOUT_ROLES), flags, rollbacks }),
  });
  const started = Date.now();
  const record = await worker.runUntil(
    env.client.workflow.execute(ROLLOUT_WORKFLOW, { workflowId: uniqueId('rollout'), taskQueue, args: [rolloutInput(plan)] }).then(
      (result: RolloutRecord) => result,
      (error: unknown) => {
        if (error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure) return error.cause.details?.[0] as RolloutRecord;
        throw error;
      },
    ),
  );
  return { record, rollbacks, wallMs: Date.now() - started };
}

it('a plan with week-long bakes runs 10 → 50 → 100 in seconds of wall time, on durable timers', async () => {
  const plan = rolloutPlan({
    phases: [
      { percent: 10, bake: '7d' },
      { percent: 50, bake: '7d', approval: { approvers: ['release-manager'], timeout: '2d', onTimeout: 'promote' } },
      { percent: 100, bake: '1d' },
    ],
  });
  const { record, wallMs } = await runToEnd(plan);
  expect(record.status).toBe('succeeded');
  expect(record.percent).toBe(100);
  expect(record.phases.map((phase) => [phase.percent, phase.status])).toEqual([[10, 'baked'], [50, 'baked'], [100, 'baked']]);
  const bakeTen = record.steps.find((step) => step.id === 'bake-10')!;
  expect(Date.parse(bakeTen.finishedAt!) - Date.parse(bakeTen.startedAt!)).toBeGreaterThanOrEqual(7 * 86_400_000);
  // Nobody decided the gate to 50%: after 2 days it went on, as the plan says.
  expect(record.steps.find((step) => step.id === 'approve-50')?.status).toBe('succeeded');
  expect((await store.events(record.runId)).map((event) => event.action)).toContain('approval.timed-out');
  expect(Date.parse(record.finishedAt!) - Date.parse(record.startedAt)).toBeGreaterThanOrEqual(17 * 86_400_000);
  expect(wallMs).toBeLessThan(30_000);
  expect((await flags.get(plan.spec.flag.key, 'production'))?.percent).toBe(100);
  const changes = await flags.changes(plan.spec.flag.key, 'production');
  expect(changes.map((entry) => [entry.from.percent ?? null, entry.to.percent, entry.runId, entry.actor])).toEqual([
    [50, 100, record.runId, 'rita'], [10, 50, record.runId, 'rita'], [null, 10, record.runId, 'rita'],
  ]);
});

it('an approval nobody gives by its timeout rolls the flag back when the plan says so, and says so', async () => {
  const plan = rolloutPlan({
    phases: [
      { percent: 10, bake: '3d' },
      { percent: 100, bake: '1d', approval: { approvers: ['release-manager'], timeout: '2d' } },
    ],
  });
  const { record, rollbacks } = await runToEnd(plan);
  expect(record.status).toBe('rolled-back');
  expect(record.percent).toBe(0);
  expect(record.reason).toBe('step approve-100 failed: approval gate approve-100 had no decision within 2d');
  expect(record.rolledBack).toMatchObject({ from: 10, to: 0 });
  expect(rollbacks.map((entry) => entry.runId)).toEqual([record.runId]);
  expect((await flags.get(plan.spec.flag.key, 'production'))?.percent).toBe(0);
});
