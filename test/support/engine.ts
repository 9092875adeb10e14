import { Client, Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import pg from 'pg';
import { inject } from 'vitest';
import { ACTION_NAMES, type ActionName } from '../../definitions/actions.ts';
import { RunbookSchema, type Runbook } from '../../definitions/schema.ts';
import type { createActivities } from '../../activities/index.ts';
import type { ActionActivity, ActionRequest } from '../../activities/types.ts';
import { migrate } from '../../store/migrate.ts';
import { createPgRunStore, type RunStore } from '../../store/runs.ts';
import type { DrillRecord, RecordEventInput } from '../../workflows/definitions.ts';
import { createTestDatabase, uniqueId } from './db.ts';

type Activities = ReturnType<typeof createActivities>;

/** Typed fake actions: each call is recorded; steps named in `failing` fail for good. */
export function fakeActions(calls: string[], failing: ReadonlySet<string> = new Set()): Record<ActionName, ActionActivity> {
  const fake: ActionActivity = async (request: ActionRequest) => {
    calls.push(request.stepId);
    if (failing.has(request.stepId)) throw ApplicationFailure.nonRetryable(`${request.stepId} broke on purpose`, 'Injected');
    return { ok: true, with: request.with };
  };
  return Object.fromEntries(ACTION_NAMES.map((name) => [name, fake])) as Record<ActionName, ActionActivity>;
}

export interface EngineHarness {
  client: Client;
  /** The store's database. */
  databaseUrl: string;
  store: RunStore;
  pool: pg.Pool;
  taskQueue: string;
  /** Starts a worker with these action activities (recordEvent is always the real store; drills are kept in `drills`). */
  startWorker(actions: Record<ActionName, ActionActivity>): Promise<void>;
  /** Starts a worker with a complete set of activities. */
  startActivities(activities: Activities): Promise<void>;
  /** Drill records written by workers started with startWorker. */
  drills: DrillRecord[];
  close(): Promise<void>;
}

/** A real Temporal client and a real store in a fresh database; workers on a task queue of the test's own. */
export async function createEngineHarness(prefix: string): Promise<EngineHarness> {
  quietWorkerLogs();
  const database = await createTestDatabase(prefix);
  const pool = new pg.Pool({ connectionString: database.url });
  await migrate(pool);
  const store = createPgRunStore(pool);
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  const client = new Client({ connection });
  const taskQueue = uniqueId(prefix);
  const workers: { worker: Worker; running: Promise<void>; connection: NativeConnection }[] = [];
  const drills: DrillRecord[] = [];
  const startActivities = async (activities: Activities) => {
    const workerConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
    const worker = await Worker.create({
      connection: workerConnection,
      taskQueue,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      activities,
    });
    workers.push({ worker, running: worker.run(), connection: workerConnection });
  };
  return {
    client, store, pool, taskQueue, databaseUrl: database.url, drills, startActivities,
    startWorker: (actions) => startActivities({
      ...actions,
      recordEvent: (input: RecordEventInput) => store.record(input),
      recordDrill: async (record: DrillRecord) => void drills.push(record),
      notifyDrill: async () => undefined,
    }),
    async close() {
      for (const { worker, running, connection: workerConnection } of workers) {
        worker.shutdown();
        await running;
        await workerConnection.close();
      }
      await connection.close();
      await pool.end();
      await database.drop();
    },
  };
}

export function runbook(spec: Record<string, unknown>, name = 'test-runbook'): Runbook {
  return RunbookSchema.parse({
    apiVersion: 'golive/v1',
    kind: 'Runbook',
    metadata: { name, service: 'orders' },
    spec: { strategy: 'warm-standby', objectives: { rpo: '5m', rto: '30m' }, ...spec },
  });
}

let runtimeInstalled = false;
/** Worker logs at ERROR: expected activity and workflow failures would bury the test report. */
export function quietWorkerLogs(): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  runtimeInstalled = true;
}
