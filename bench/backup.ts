/**
 * Backup and drill overhead against the raw tools on a real Postgres: backup.create into a
 * filesystem store against `pg_dump -Fc --file`, and backup.restore + drill.verify against
 * `pg_restore` of the same dump followed by the same count and fingerprint queries.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { createBackup } from '../activities/backup.ts';
import { restoreBackup } from '../activities/backup-restore.ts';
import { parseInput } from '../activities/call.ts';
import { verify } from '../activities/drill-verify.ts';
import { fingerprintTables, listUserTables, stableOutput } from '../activities/table-fingerprint.ts';
import type { ActionRequest } from '../activities/types.ts';
import type { ActionName } from '../definitions/actions.ts';
import type { Target } from '../definitions/targets.ts';
import { ensureDatabase, startPostgres } from '../stack/postgres.ts';
import { loadToolchain, requireTool } from '../stack/toolchain.ts';
import { ms, percentile } from './stats.ts';

const run = promisify(execFile);
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

const SEED = `CREATE TABLE orders (id bigint PRIMARY KEY, customer int NOT NULL, total numeric(12,2), placed timestamptz NOT NULL, note text);
  CREATE INDEX orders_customer ON orders (customer);
  INSERT INTO orders SELECT g, g % 50000, g * 0.25, '2024-01-01T00:00:00Z'::timestamptz + g * interval '1 second', md5(g::text) FROM generate_series(1, ${ROWS}) g;
  CREATE TABLE customers (id int PRIMARY KEY, name text);
  INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 50000) g`;

function libpq(url: string, database?: string): NodeJS.ProcessEnv {
  const parsed = new URL(url);
  return { PATH: process.env.PATH, PGHOST: parsed.hostname, PGPORT: parsed.port, PGUSER: decodeURIComponent(parsed.username), PGDATABASE: database ?? parsed.pathname.slice(1) };
}

async function sql(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(text).finally(() => client.end());
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

function request(action: ActionName, input: Record<string, unknown>, target: Target, store: Target, runId: string): ActionRequest {
  return { runId, stepId: action, idempotencyKey: `${runId}:${action}`, target: { name: 'db', spec: target }, targets: { vault: store }, with: input };
}

export async function benchBackup(): Promise<void> {
  const pgBin = requireTool(loadToolchain({ pgBin: process.env.GOLIVE_PG_BIN }), 'pgBin');
  const scratch = await mkdtemp(join(tmpdir(), 'golive-bench-backup-'));
  await chmod(scratch, 0o755);
  const cluster = await startPostgres({ pgBin, dataDir: join(scratch, 'pg'), durable: false });
  try {
    const source = await ensureDatabase(cluster.url, 'bench_source');
    await sql(source, SEED);
    await sql(source, 'VACUUM ANALYZE');
    const deps = { env: {}, pgBin };
    const store: Target = { type: 'filesystem', path: join(scratch, 'store') };
    const sourceTarget: Target = { type: 'postgres', url: source };
    const serverTarget: Target = { type: 'postgres', url: cluster.url };
    const figures = { dump: [] as number[], backup: [] as number[], rawDrill: [] as number[], drill: [] as number[] };
    for (let attempt = 0; attempt < RUNS; attempt += 1) {
      const file = join(scratch, `raw-${attempt}.dump`);
      figures.dump.push(await timed(() => run(join(pgBin, 'pg_dump'), ['--format=custom', `--file=${file}`], { env: libpq(source) })));
      const backupId = `bench-${attempt}`;
      const backupInput = { store: 'vault', service: 'bench', backupId, sampleRows: 1000 };
      figures.backup.push(await timed(() => createBackup(deps, parseInput('backup.create', request('backup.create', backupInput, sourceTarget, store, backupId), {}))));

      const rawCopy = `raw_copy_${attempt}`;
      await sql(cluster.url, `CREATE DATABASE ${rawCopy} TEMPLATE template0`);
      figures.rawDrill.push(await timed(async () => {
        await run(join(pgBin, 'pg_restore'), ['--no-owner', '--no-privileges', '--exit-on-error', `--dbname=${rawCopy}`, file], { env: libpq(cluster.url, rawCopy) });
        const client = new pg.Client({ connectionString: new URL(`/${rawCopy}`, cluster.url).toString() });
        await client.connect();
        await stableOutput(client);
        await fingerprintTables([client], await listUserTables(client), 1000).finally(() => client.end());
      }));
      const drillInput = { store: 'vault', service: 'bench', backupId, database: `drill_copy_${attempt}` };
      figures.drill.push(await timed(async () => {
        await restoreBackup(deps, parseInput('backup.restore', request('backup.restore', drillInput, serverTarget, store, `${backupId}-drill`), {}));
        await verify(parseInput('drill.verify', request('drill.verify', drillInput, serverTarget, store, `${backupId}-drill`), {}));
      }));
    }
    const median = (values: number[]) => percentile(values, 0.5);
    console.log(`backup and drill of ${ROWS.toLocaleString('en')} rows, median of ${RUNS}:`);
    console.log(`  pg_dump -Fc --file         ${ms(median(figures.dump))}`);
    console.log(`  backup.create (filesystem) ${ms(median(figures.backup))}  ratio ${(median(figures.backup) / median(figures.dump)).toFixed(3)} (target <= 1.10)`);
    console.log(`  pg_restore + queries       ${ms(median(figures.rawDrill))}`);
    console.log(`  backup.restore + verify    ${ms(median(figures.drill))}  ratio ${(median(figures.drill) / median(figures.rawDrill)).toFixed(3)} (target <= 1.15)`);
  } finally {
    await cluster.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('backup.ts')) await benchBackup();
