/**
 * Backup and drill wall time through golive (Temporal workflows with their audit trail, on a real
 * dev server) against the raw tools on the same Postgres, on a database of BENCH_ROWS orders
 * (default 1,000,000, about 100 MB):
 * - backup: the backup workflow (start → result) ÷ `pg_dump -Fc --file`;
 * - drill: the drill workflow ÷ what a person would run by hand for the same proof: sha256sum of
 *   the dump, CREATE DATABASE, `pg_restore`, the same count and fingerprint queries, the smoke
 *   and health queries, DROP DATABASE.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { libpqEnvironment } from '../activities/postgres/client.ts';
import { fingerprintTables, listUserTables, prepareSession } from '../activities/postgres/fingerprint.ts';
import { RunbookSchema } from '../definitions/schema.ts';
import { ensureDatabase } from '../stack/postgres.ts';
import { BACKUP_WORKFLOW, DRILL_WORKFLOW, type DrillRecord, type DrillRunInput } from '../workflows/definitions.ts';
import { withBenchStack, type BenchStack } from './stack.ts';
import { ms, percentile } from './stats.ts';

const run = promisify(execFile);
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SMOKE = 'SELECT count(*)::int AS orders FROM orders';
const HEALTH = 'SELECT 1';

const SEED = `CREATE TABLE orders (id bigint PRIMARY KEY, customer int NOT NULL, total numeric(12,2), placed timestamptz NOT NULL, note text);
  INSERT INTO orders SELECT g, g % 50000, g * 0.25, '2024-01-01T00:00:00Z'::timestamptz + g * interval '1 second', md5(g::text) FROM generate_series(1, ${ROWS}) g;
  CREATE TABLE customers (id int PRIMARY KEY, name text);
  INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 50000) g`;

const runbook = RunbookSchema.parse({
  apiVersion: 'golive/v1',
  kind: 'Runbook',
  metadata: { name: 'bench-orders', service: 'bench-orders' },
  spec: {
    strategy: 'backup-restore',
    objectives: { rpo: '24h', rto: '24h' },
    targets: {
      source: { type: 'postgres', url: '${BENCH_SOURCE_URL}' },
      server: { type: 'postgres', url: '${BENCH_SERVER_URL}' },
      store: { type: 'filesystem', path: '${BENCH_STORE}' },
    },
    backup: { source: 'source', store: 'store' },
    drill: { server: 'server', smoke: [{ id: 'orders', sql: SMOKE, assert: `rows.0.orders == ${ROWS}` }], health: { sql: HEALTH } },
    steps: [{ id: 'noop', action: 'noop' }],
  },
});

function libpq(url: string, database?: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, ...libpqEnvironment({ name: 'bench', spec: { type: 'postgres', url } }, database) };
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return work(client).finally(() => client.end());
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The drill by hand: checksum, restore into a new database, the same queries, drop it. */
async function rawDrill(stack: BenchStack, file: string, copy: string): Promise<void> {
  await sha256(file);
  await withClient(stack.clusterUrl, (client) => client.query(`CREATE DATABASE ${copy} TEMPLATE template0`));
  await run(join(stack.pgBin, 'pg_restore'), ['--no-owner', '--no-privileges', '--exit-on-error', `--dbname=${copy}`, file], { env: libpq(stack.clusterUrl, copy) });
  await withClient(new URL(`/${copy}`, stack.clusterUrl).toString(), async (client) => {
    await prepareSession(client);
    await fingerprintTables([client], await listUserTables(client), 1000);
    await client.query(SMOKE);
    await client.query(HEALTH);
  });
  await withClient(stack.clusterUrl, (client) => client.query(`DROP DATABASE ${copy} WITH (FORCE)`));
}

function ratioLine(label: string, golive: number[], raw: number[], target: number): string {
  const [mine, theirs] = [percentile(golive, 0.5), percentile(raw, 0.5)];
  const ratio = mine / theirs;
  return `  ${label.padEnd(40)}${ms(mine).padStart(12)}  ratio ${ratio.toFixed(3)} (target <= ${target.toFixed(2)}: ${ratio <= target ? 'met' : 'MISSED'})`;
}

export async function benchDr(): Promise<void> {
  await withBenchStack(async (stack) => {
    const source = await ensureDatabase(stack.clusterUrl, 'bench_source');
    await withClient(source, async (client) => {
      await client.query(SEED);
      await client.query('VACUUM ANALYZE');
    });
    const size = await withClient(source, (client) => client.query<{ size: string }>(`SELECT pg_size_pretty(pg_database_size(current_database())) AS size`));
    Object.assign(stack.env, { BENCH_SOURCE_URL: source, BENCH_SERVER_URL: stack.clusterUrl, BENCH_STORE: join(stack.scratch, 'store') });
    const figures = { dump: [] as number[], backup: [] as number[], rawDrill: [] as number[], drill: [] as number[] };
    let lastDrill: DrillRecord | undefined;
    for (let attempt = 0; attempt < RUNS; attempt += 1) {
      const file = join(stack.scratch, `raw-${attempt}.dump`);
      figures.dump.push(await timed(() => run(join(stack.pgBin, 'pg_dump'), ['--format=custom', `--file=${file}`], { env: libpq(source) })));
      const input: DrillRunInput = { runbook, requestedBy: 'bench', channel: 'cli', trigger: 'manual' };
      const start = (type: string, id: string) => stack.client.workflow.execute(type, { workflowId: `${id}-${attempt}-${Date.now()}`, taskQueue: stack.taskQueue, args: [input] });
      figures.backup.push(await timed(() => start(BACKUP_WORKFLOW, 'bench-backup')));
      figures.rawDrill.push(await timed(() => rawDrill(stack, file, `raw_copy_${attempt}`)));
      figures.drill.push(await timed(async () => {
        lastDrill = (await start(DRILL_WORKFLOW, 'bench-drill')) as DrillRecord;
      }));
    }
    console.log(`backup and drill of ${ROWS.toLocaleString('en')} orders (${size.rows[0]?.size} database), median of ${RUNS} runs:`);
    console.log(`  ${'pg_dump -Fc --file'.padEnd(40)}${ms(percentile(figures.dump, 0.5)).padStart(12)}`);
    console.log(ratioLine('golive backup workflow', figures.backup, figures.dump, 1.1));
    console.log(`  ${'by hand: sha256 + pg_restore + queries'.padEnd(40)}${ms(percentile(figures.rawDrill, 0.5)).padStart(12)}`);
    console.log(ratioLine('golive drill workflow', figures.drill, figures.rawDrill, 1.15));
    if (lastDrill) {
      const steps = lastDrill.steps.filter((step) => step.durationMs !== undefined).map((step) => `${step.id} ${step.durationMs} ms`);
      console.log(`  last drill's steps: ${steps.join(', ')}`);
    }
  });
}
