import type { Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Config } from '../config/env.ts';
import { startHttpServer, type HttpServer } from '../server/http.ts';
import { createFlagStore } from '../store/flags.ts';
import { createPgIdentityStore } from '../store/identity.ts';
import { migrate } from '../store/migrate.ts';
import { createPgProtectionStore } from '../store/protection.ts';
import { createPgRunStore } from '../store/runs.ts';
import { connectClient, createPool, type Endpoints } from './connections.ts';
import { startFlagCache } from './flag-cache.ts';
import { createConfiguredRoleDirectory } from './roles.ts';
import { connectWorkerConnection, createWorker } from './worker.ts';

export interface Services {
  http?: HttpServer;
  worker?: Worker;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  worker: boolean;
  http: boolean;
  /** Overrides GOLIVE_HTTP_PORT (0 = any free port). */
  httpPort?: number;
  taskQueue?: string;
  logger: Logger;
}

/** golive's own processes on a stack: migrations, then a worker and/or the HTTP server. */
export async function startServices(config: Config, endpoints: Endpoints, options: ServiceOptions): Promise<Services> {
  const pool = createPool(endpoints.databaseUrl, (error) => options.logger.warn({ err: error }, 'a connection to golive\'s Postgres dropped; the next query opens a new one'));
  const applied = await migrate(pool);
  if (applied.length > 0) options.logger.info({ migrations: applied }, 'applied migrations');
  const client = await connectClient(config, endpoints.temporalAddress);
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  let closeWorkerConnection = async () => {};
  if (options.worker) {
    const connection = await connectWorkerConnection(config, endpoints.temporalAddress);
    closeWorkerConnection = () => connection.close();
    worker = await createWorker({ connection, pool, config, taskQueue: options.taskQueue, logger: options.logger });
    running = worker.run();
  }
  const identity = createPgIdentityStore(pool);
  const flagCache = options.http ? await startFlagCache(pool, { logger: options.logger }) : undefined;
  const http = options.http
    ? await startHttpServer({
      flags: createFlagStore(pool), flagCache,
      store: createPgRunStore(pool), protection: createPgProtectionStore(pool), identity, roles: createConfiguredRoleDirectory(config, identity, options.logger),
      runbooksDir: config.runbooksDir, checklistsDir: config.checklistsDir, rolloutsDir: config.rolloutsDir, client, pool, taskQueue: options.taskQueue ?? config.temporal.taskQueue, oidc: config.oidc, slack: config.slack,
    }, { host: config.http.host, port: options.httpPort ?? config.http.port, logger: options.logger })
    : undefined;
  return {
    http,
    worker,
    async stop() {
      await http?.close();
      await flagCache?.close();
      if (worker && running) {
        worker.shutdown();
        await running;
      }
      await closeWorkerConnection();
      await client.connection.close();
      await pool.end();
    },
  };
}
