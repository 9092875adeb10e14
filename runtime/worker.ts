import { Worker, type NativeConnection } from '@temporalio/worker';
import type { Config } from '../config/env.ts';
import { createActivities } from '../activities/index.ts';
import { createPgRunStore } from '../store/runs.ts';
import type pg from 'pg';
import { loadToolchain } from '../stack/toolchain.ts';
import { WORKFLOWS_PATH } from './workflows-path.ts';

import { createNotifier } from '../activities/notify/slack.ts';
import { createPgProtectionStore } from '../store/protection.ts';
import type { Logger } from 'pino';

export interface WorkerOptions {
  connection: NativeConnection;
  pool: pg.Pool;
  config: Config;
  /** A pre-built workflow bundle (tests build one per run); else the worker bundles workflows/. */
  workflowBundlePath?: string;
  taskQueue?: string;
  env?: NodeJS.ProcessEnv;
  logger: Logger;
}

/** The composition root of a worker: real store, real action clients, the workflow code. */
export async function createWorker(options: WorkerOptions): Promise<Worker> {
  const { config } = options;
  const protection = createPgProtectionStore(options.pool);
  const activities = createActivities({
    store: createPgRunStore(options.pool),
    actions: { env: options.env ?? process.env, pgBin: loadToolchain(config.tools).pgBin ?? '', backups: protection },
    drills: protection,
    notifier: createNotifier({ slack: config.slack, logger: options.logger }),
  });
  return Worker.create({
    connection: options.connection,
    namespace: config.temporal.namespace,
    taskQueue: options.taskQueue ?? config.temporal.taskQueue,
    ...(options.workflowBundlePath ? { workflowBundle: { codePath: options.workflowBundlePath } } : { workflowsPath: WORKFLOWS_PATH }),
    activities,
  });
}
