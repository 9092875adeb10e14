/**
 * What every benchmark runs on: its own Temporal dev server and Postgres cluster, golive's
 * migrations, and a worker with golive's real activities on the benchmark workflows.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import pg from 'pg';
import { createActivities } from '../activities/index.ts';
import type { RoleMap } from '../definitions/roles.ts';
import { createRoleDirectory } from '../runtime/roles.ts';
import { HEARTBEAT_THROTTLE } from '../runtime/worker.ts';
import { createNotifier } from '../activities/notify/slack.ts';
import { createLogger } from '../runtime/logger.ts';
import { ensureDatabase, startPostgres } from '../stack/postgres.ts';
import { startTemporalDevServer } from '../stack/temporal.ts';
import { loadToolchain, requireTool } from '../stack/toolchain.ts';
import { migrate } from '../store/migrate.ts';
import { createPgProtectionStore } from '../store/protection.ts';
import { createPgRunStore } from '../store/runs.ts';

export interface BenchStack {
  client: Client;
  taskQueue: string;
  pgBin: string;
  /** The cluster's maintenance database; benchmarks create their own databases on it. */
  clusterUrl: string;
  /** golive's own database (migrated), which the worker records runs in. */
  pool: pg.Pool;
  scratch: string;
  /** The environment the worker resolves `${VAR}` references from; set entries before runs start. */
  env: Record<string, string>;
}

/** What a benchmark needs of the worker beyond the defaults: who holds which role, the nginx its actions run. */
export interface BenchStackOptions {
  roles?: RoleMap;
  nginxBin?: string;
}

let runtimeInstalled = false;

export async function withBenchStack(work: (stack: BenchStack) => Promise<void>, options: BenchStackOptions = {}): Promise<void> {
  if (!runtimeInstalled) Runtime.install({ logger: new DefaultLogger('ERROR') });
  runtimeInstalled = true;
  const toolchain = loadToolchain();
  const pgBin = requireTool(toolchain, 'pgBin');
  const scratch = await mkdtemp(join(tmpdir(), 'golive-bench-'));
  await chmod(scratch, 0o755);
  const temporal = await startTemporalDevServer({ cli: requireTool(toolchain, 'temporal'), uiPort: null });
  const cluster = await startPostgres({ pgBin, dataDir: join(scratch, 'pg') });
  const pool = new pg.Pool({ connectionString: await ensureDatabase(cluster.url, 'golive') });
  const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
  const env: Record<string, string> = {};
  try {
    await migrate(pool);
    const protection = createPgProtectionStore(pool);
    const taskQueue = 'bench';
    const worker = await Worker.create({
      connection: await NativeConnection.connect({ address: temporal.address }),
      taskQueue,
      workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)),
      activities: createActivities({
        store: createPgRunStore(pool, protection),
        roles: createRoleDirectory(options.roles ?? {}),
        actions: { env, pgBin, backups: protection, nginxBin: options.nginxBin },
        drills: protection,
        notifier: createNotifier({ slack: { apiUrl: 'https://slack.com/api/' }, logger: createLogger('silent', 'golive-bench') }),
      }),
      ...HEARTBEAT_THROTTLE,
    });
    await worker.runUntil(work({ client, taskQueue, pgBin, clusterUrl: cluster.url, pool, scratch, env }));
  } finally {
    await client.connection.close();
    await pool.end();
    await cluster.stop();
    await temporal.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}
