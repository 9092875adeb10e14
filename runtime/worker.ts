import { Worker, type NativeConnection } from '@temporalio/worker';
import type { Config } from '../config/env.ts';
import { createActivities } from '../activities/index.ts';
import { createPgRunStore } from '../store/runs.ts';
import type pg from 'pg';
import { loadToolchain } from '../stack/toolchain.ts';
import { WORKFLOWS_PATH } from './workflows-path.ts';

export interface WorkerOptions {
  connection: NativeConnection;
  pool: pg.Pool;
  config: Config;
  /** A pre-built workflow bundle (tests build one per run); else the worker bundles workflows/. */
  workflowBundlePath?: string;
  taskQueue?: string;
  env?: NodeJS.ProcessEnv;
}

/** The composition root of a worker: real store, real action clients, the workflow code. */
export async function createWorker(options: WorkerOptions): Promise<Worker> {
  const { config } = options;
  const activities = createActivities({
    store: createPgRunStore(options.pool),
    actions: { env: options.env ?? process.env, pgBin: loadToolchain(config.tools).pgBin ?? '' },
  });
  return Worker.create({
    connection: options.connection,
    namespace: config.temporal.namespace,
    taskQueue: options.taskQueue ?? config.temporal.taskQueue,
    ...(options.workflowBundlePath ? { workflowBundle: { codePath: options.workflowBundlePath } } : { workflowsPath: WORKFLOWS_PATH }),
    activities,
  });
}
