import { NativeConnection, Worker } from '@temporalio/worker';
import type pg from 'pg';
import type { Logger } from 'pino';
import { createActivities } from '../activities/index.ts';
import { createRunMessenger } from '../activities/notify/run-message.ts';
import { createNotifier } from '../activities/notify/slack.ts';
import type { Config } from '../config/env.ts';
import { connectionOptions } from './connections.ts';
import { loadToolchain } from '../stack/toolchain.ts';
import { createFlagStore } from '../store/flags.ts';
import { createPgIdentityStore } from '../store/identity.ts';
import { createPgProtectionStore } from '../store/protection.ts';
import { createPgRunStore } from '../store/runs.ts';
import { createPgSlackMessageStore } from '../store/slack-messages.ts';
import { readPosture } from './posture.ts';
import { createConfiguredRoleDirectory } from './roles.ts';
import { WORKFLOWS_PATH } from './workflows-path.ts';

/** The worker's own connection to Temporal (native, in the worker's Rust core). */
export function connectWorkerConnection(config: Config, address: string): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(config, address));
}

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

/**
 * Heartbeats reach Temporal at least every second (the SDK's default waits up to 80% of the
 * heartbeat timeout): an abort or skip reaches a running action, and stops it, within a second.
 */
export const HEARTBEAT_THROTTLE = { maxHeartbeatThrottleInterval: '1s', defaultHeartbeatThrottleInterval: '1s' } as const;

/** The composition root of a worker: real store, server-side roles, real action clients, the workflow code. */
export async function createWorker(options: WorkerOptions): Promise<Worker> {
  const { config } = options;
  const protection = createPgProtectionStore(options.pool);
  const activities = createActivities({
    store: createPgRunStore(options.pool, protection),
    roles: createConfiguredRoleDirectory(config, createPgIdentityStore(options.pool), options.logger),
    actions: { env: options.env ?? process.env, pgBin: loadToolchain(config.tools).pgBin ?? '', backups: protection, targetEnv: config.targetEnv, nginxBin: config.tools.nginxBin, flags: createFlagStore(options.pool), posture: (now) => readPosture(protection, config.runbooksDir, now).then((report) => report.services) },
    drills: protection,
    notifier: createNotifier({ slack: config.slack, logger: options.logger }),
    runMessages: createRunMessenger({ slack: config.slack, messages: createPgSlackMessageStore(options.pool), logger: options.logger }),
    digest: { slack: config.slack, logger: options.logger },
  });
  return Worker.create({
    connection: options.connection,
    namespace: config.temporal.namespace,
    taskQueue: options.taskQueue ?? config.temporal.taskQueue,
    ...(options.workflowBundlePath ? { workflowBundle: { codePath: options.workflowBundlePath } } : { workflowsPath: WORKFLOWS_PATH }),
    activities,
    ...HEARTBEAT_THROTTLE,
  });
}
