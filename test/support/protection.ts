import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { createActivities } from '../../activities/index.ts';
import { createNotifier } from '../../activities/notify/slack.ts';
import type { Config } from '../../config/env.ts';
import { RunbookSchema, type Runbook } from '../../definitions/schema.ts';
import { createLogger } from '../../runtime/logger.ts';
import { startProtectionRun, type ProtectionKind } from '../../runtime/protection.ts';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import { createPgProtectionStore } from '../../store/protection.ts';
import type { DrillRecord, RunState } from '../../workflows/definitions.ts';
import { createTestDatabase } from './db.ts';
import { TEST_ROLES, type EngineHarness } from './engine.ts';
import { createRoleDirectory } from '../../runtime/roles.ts';
import { createPgRunStore } from '../../store/runs.ts';
import { runSql } from './sql.ts';

/** A source database with `orders` rows, a backup folder, and the environment a runbook names. */
export interface DrSource {
  url: string;
  backupDir: string;
  env: Record<string, string>;
  drop(): Promise<void>;
}

export async function createDrSource(prefix: string, orders: number): Promise<DrSource> {
  const database = await createTestDatabase(prefix);
  const backupDir = await mkdtemp(join(tmpdir(), 'golive-backups-'));
  await runSql(database.url, `
    CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
    CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL REFERENCES customers (id), total_cents int NOT NULL, placed_at timestamptz NOT NULL);
    CREATE TABLE audit_log (at timestamptz NOT NULL, note text NOT NULL);
    INSERT INTO audit_log SELECT '2026-01-01'::timestamptz + n * interval '1 minute', 'event ' || n FROM generate_series(1, 500) AS n;
    INSERT INTO customers SELECT n, 'customer ' || n FROM generate_series(1, 1000) AS n;
    INSERT INTO orders SELECT n, 1 + n % 1000, (n * 37) % 100000, '2026-01-01'::timestamptz + n * interval '1 second' FROM generate_series(1, ${orders}) AS n;`);
  return {
    url: database.url,
    backupDir,
    env: { DR_SOURCE_URL: database.url, DR_SERVER_URL: inject('postgresUrl'), DR_BACKUP_DIR: backupDir },
    async drop() {
      await database.drop();
      await rm(backupDir, { recursive: true, force: true });
    },
  };
}

/** A runbook protecting the source: backups to the folder, drills on the test server. */
export function drRunbook(name: string, overrides: { objectives?: { rpo: string; rto: string }; store?: Record<string, unknown>; expectOrders?: number } = {}): Runbook {
  return RunbookSchema.parse({
    apiVersion: 'golive/v1',
    kind: 'Runbook',
    metadata: { name, service: name },
    spec: {
      strategy: 'warm-standby',
      objectives: overrides.objectives ?? { rpo: '1h', rto: '1h' },
      targets: {
        source: { type: 'postgres', url: '${DR_SOURCE_URL}' },
        server: { type: 'postgres', url: '${DR_SERVER_URL}' },
        backups: overrides.store ?? { type: 'filesystem', path: '${DR_BACKUP_DIR}' },
      },
      backup: { source: 'source', store: 'backups', retention: { keep: 3 } },
      drill: {
        server: 'server',
        smoke: [{ id: 'orders-present', sql: 'SELECT count(*)::int AS orders FROM orders', assert: `rows.0.orders == ${overrides.expectOrders ?? 0}` }],
      },
      steps: [{ id: 'noop', action: 'noop' }],
    },
  });
}

/** A worker on the harness's task queue with the real activities and records; drill results go to the log, or to `slack`. */
export async function startDrWorker(harness: EngineHarness, env: Record<string, string>, slack: Pick<Config['slack'], 'token' | 'channel' | 'apiUrl'> = { apiUrl: 'http://127.0.0.1:9/' }): Promise<void> {
  const protection = createPgProtectionStore(harness.pool);
  const pgBin = requireTool(loadToolchain({ pgBin: process.env.GOLIVE_PG_BIN }), 'pgBin');
  const logger = createLogger('silent', 'golive-test');
  const activities = createActivities({
    store: createPgRunStore(harness.pool, protection),
    roles: createRoleDirectory(TEST_ROLES),
    actions: { env, pgBin, backups: protection },
    drills: protection,
    notifier: createNotifier({ slack, logger }),
  });
  await harness.startActivities(activities);
}

/** Starts a backup or drill as `golive backup|drill run` does and waits for its outcome. */
export async function runProtection(harness: EngineHarness, kind: ProtectionKind, runbook: Runbook, options: { freshBackup?: boolean } = {}): Promise<{ runId: string; state: RunState; drill?: DrillRecord }> {
  const runId = await startProtectionRun(harness.client, { kind, runbook, requestedBy: 'sre', taskQueue: harness.taskQueue, source: 'test', ...options });
  await harness.client.workflow.getHandle(runId).result().catch(() => undefined);
  const state = (await harness.store.getRun(runId))?.state;
  if (!state) throw new Error(`run ${runId} recorded no state`);
  const drill = kind === 'drill' ? await createPgProtectionStore(harness.pool).getDrill(runId) : undefined;
  return { runId, state, drill: drill ?? undefined };
}

/** Scratch databases drills of this runbook left behind on the test server (other files run drills at the same time). */
export async function scratchDatabases(runbook: string): Promise<string[]> {
  const prefix = `golive_drill_${runbook.replace(/-/g, '_')}_`;
  const { rows } = await runSql<{ datname: string }>(inject('postgresUrl'), 'SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [prefix]);
  return rows.map((row) => row.datname);
}
