import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import pg from 'pg';
import { inject } from 'vitest';
import { ACTION_NAMES, type ActionName } from '../../definitions/actions.ts';
import { RunbookSchema, type Runbook } from '../../definitions/schema.ts';
import { createActivities } from '../../activities/index.ts';
import type { ActionActivity, ActionRequest } from '../../activities/types.ts';
import { parseRoles, type RoleDirectory } from '../../definitions/roles.ts';
import { createRoleDirectory } from '../../runtime/roles.ts';
import { HEARTBEAT_THROTTLE } from '../../runtime/worker.ts';
import { migrate } from '../../store/migrate.ts';
import { createPgRunStore, type RecordedEvent, type RunStore } from '../../store/runs.ts';
import { projectionQuery, type DrillRecord, type RolloutRecord } from '../../workflows/definitions.ts';
import type { FlagProvider } from '../../activities/flags/provider.ts';
import { createTestDatabase, uniqueId } from './db.ts';
import { until } from './poll.ts';

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

/** The roles engine tests run with, unless a test names its own: the worker's configuration. */
export const TEST_ROLES = parseRoles('rita=release-manager,ivan=incident-commander,adam=approver');

export interface WorkerSetup {
  /** Who holds which role on this worker (default TEST_ROLES). */
  roles?: RoleDirectory;
  /** The environment targets resolve from (default: none). */
  env?: Record<string, string>;
  /** Replaces bookkeeping activities, to slow them down or break them on purpose. */
  overrides?: Partial<Activities>;
  /** Rollbacks the notifier was told about, in order. */
  rollbacks?: RolloutRecord[];
  /** golive's built-in flags, for flag.set-rollout steps. */
  flags?: FlagProvider;
}

export interface EngineHarness {
  client: Client;
  /** The store's database. */
  databaseUrl: string;
  store: RunStore;
  pool: pg.Pool;
  taskQueue: string;
  /** Starts a worker with these action activities and the real bookkeeping: audit projection, roles, pre-flight (drills are kept in `drills`). */
  startWorker(actions: Record<ActionName, ActionActivity>, setup?: WorkerSetup): Promise<void>;
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
  const drills: DrillRecord[] = [];
  const store = createPgRunStore(pool, { recordDrill: async (record) => void drills.push(record) });
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  const client = new Client({ connection });
  const taskQueue = uniqueId(prefix);
  const workers: { worker: Worker; running: Promise<void>; connection: NativeConnection }[] = [];
  const startActivities = async (activities: Activities) => {
    const workerConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
    const worker = await Worker.create({
      connection: workerConnection,
      taskQueue,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      activities,
      ...HEARTBEAT_THROTTLE,
    });
    workers.push({ worker, running: worker.run(), connection: workerConnection });
  };
  return {
    client, store, pool, taskQueue, databaseUrl: database.url, drills, startActivities,
    startWorker: (actions, setup = {}) => startActivities(engineActivities(store, actions, setup)),
    async close() {
      for (const { worker, running, connection: workerConnection } of workers) {
        worker.shutdown();
        await running;
        await workerConnection.close();
      }
      await connection.close();
      // pool.end() answers before its clients' sockets close; dropping the database then terminates them.
      pool.on('error', () => {});
      await pool.end();
      await database.drop();
    },
  };
}

/** Fake actions with golive's real bookkeeping (audit projection into `store`, roles, pre-flight). */
export function engineActivities(store: RunStore, actions: Record<ActionName, ActionActivity>, setup: WorkerSetup = {}): Activities {
  return {
    ...createActivities({
      store,
      roles: setup.roles ?? createRoleDirectory(TEST_ROLES),
      actions: { env: setup.env ?? {}, pgBin: '', flags: setup.flags },
      drills: { notice: async () => undefined, noticed: async () => undefined },
      notifier: { drillFinished: async () => ({ channel: 'log' }), rolloutRolledBack: async (record) => void setup.rollbacks?.push(record) },
    }),
    ...actions,
    ...setup.overrides,
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

/** The run's audit events once everything it recorded so far has reached the store. */
export function settledEvents(harness: Pick<EngineHarness, 'client' | 'store'>, runId: string, timeoutMs = 20_000): Promise<RecordedEvent[]> {
  return until(async () => {
    const progress = await harness.client.workflow.getHandle(runId).query(projectionQuery).catch(() => undefined);
    const events = await harness.store.events(runId);
    return progress === undefined || (progress.written === progress.recorded && events.length >= progress.recorded) ? events : undefined;
  }, timeoutMs, `the audit trail of ${runId} did not settle`);
}

/** The environment of a user's shell next to the harness: golive finds its Temporal, database and task queue, and keeps its home in `folder`. */
export function shellEnv(harness: Pick<EngineHarness, 'databaseUrl' | 'taskQueue'>, folder: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    DATABASE_URL: harness.databaseUrl,
    GOLIVE_TASK_QUEUE: harness.taskQueue,
    GOLIVE_HOME: join(folder, '.golive'),
    ...extra,
  };
}
