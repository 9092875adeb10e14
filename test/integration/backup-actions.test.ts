import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { awsClientConfig } from '../../activities/aws.ts';
import { createBackup, latestBackup, pruneBackups, verifyChecksum } from '../../activities/backup.ts';
import { readManifest, writeManifest } from '../../activities/backup-manifests.ts';
import { restoreBackup } from '../../activities/backup-restore.ts';
import { openBackupStore } from '../../activities/backup-store.ts';
import { parseInput } from '../../activities/call.ts';
import { verify } from '../../activities/drill-verify.ts';
import type { ActionDeps, BackupCatalog } from '../../activities/types.ts';
import type { ActionName } from '../../definitions/actions.ts';
import type { BackupEntry } from '../../definitions/backup-manifest.ts';
import { HEARTBEAT_DDL } from '../../definitions/heartbeat.ts';
import type { Target } from '../../definitions/targets.ts';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import { actionRequest, type RequestOptions } from '../support/actions.ts';
import { createTestDatabase, uniqueId } from '../support/db.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { databaseUrl, runSql } from '../support/sql.ts';

const run = promisify(execFile);
const pgBin = requireTool(loadToolchain({ pgBin: process.env.GOLIVE_PG_BIN }), 'pgBin');

/** golive's backup catalog as the actions see it, keeping what they reported. */
class RecordedCatalog implements BackupCatalog {
  entries: BackupEntry[] = [];
  prunes: Array<{ service: string; ids: string[] }> = [];
  async recorded(entry: BackupEntry) {
    this.entries.push(entry);
  }
  async pruned(service: string, ids: string[]) {
    this.prunes.push({ service, ids });
  }
}

let source: { url: string; drop(): Promise<void> };
let plain: { url: string; drop(): Promise<void> };
let moto: MotoServer;
let folder: string;
let catalog: RecordedCatalog;
let deps: ActionDeps;
const made: string[] = [];
const db = (url: string): { name: string; spec: Target } => ({ name: 'orders-db', spec: { type: 'postgres', url } });
const server = (): { name: string; spec: Target } => ({ name: 'drill-db', spec: { type: 'postgres', url: inject('postgresUrl') } });
const local = (): Target => ({ type: 'filesystem', path: join(folder, 'store') });
const offsite: Target = { type: 's3', bucket: 'golive-drills', prefix: 'backups' };
const localStore = () => openBackupStore({ name: 'vault', spec: { type: 'filesystem', path: join(folder, 'store') } }, {});

function call<A extends ActionName>(action: A, input: Record<string, unknown>, options: RequestOptions) {
  return parseInput(action, actionRequest(action, input, options), deps.env);
}

const backupInput = (backupId: string, extra: Record<string, unknown> = {}) => ({ store: 'vault', service: 'orders', backupId, sampleRows: 100, ...extra });
const withVault = (target: { name: string; spec: Target }, vault: Target = local()): RequestOptions => ({ target, targets: { vault } });
const scratch = () => {
  const name = uniqueId('drill').replace('-', '_');
  made.push(name);
  return name;
};

beforeAll(async () => {
  [source, plain] = await Promise.all([createTestDatabase('backup_src'), createTestDatabase('backup_plain')]);
  folder = await mkdtemp(join(tmpdir(), 'golive-backups-'));
  moto = await startMoto(requireTool(loadToolchain(), 'motoServer'));
  const s3 = new S3Client({ ...awsClientConfig(moto.env, undefined), forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: 'golive-drills' }));
  s3.destroy();
  catalog = new RecordedCatalog();
  deps = { env: moto.env, pgBin, backups: catalog };
  await runSql(source.url, `${HEARTBEAT_DDL};
    CREATE TABLE payments (id bigint PRIMARY KEY, amount numeric(12,2) NOT NULL, paid_at timestamptz NOT NULL, note text);
    CREATE TABLE customers (region text, id int, name text, PRIMARY KEY (region, id));
    CREATE TABLE events (kind text, payload jsonb, t int);
    INSERT INTO payments SELECT g, g * 1.25, '2024-05-01T00:00:00Z'::timestamptz + g * interval '1 second', 'p' || g FROM generate_series(1, 1200) g;
    INSERT INTO customers SELECT CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, g, 'customer ' || g FROM generate_series(1, 300) g;
    INSERT INTO events (kind, payload, t) SELECT 'click', jsonb_build_object('n', g), g FROM generate_series(1, 50) g;
    INSERT INTO golive_heartbeat (beat_at) SELECT '2024-05-01T12:00:00Z'::timestamptz + g * interval '1 second' FROM generate_series(1, 30) g;`);
  await runSql(plain.url, 'CREATE TABLE ledger (id int PRIMARY KEY, entry text); INSERT INTO ledger SELECT g, md5(g::text) FROM generate_series(1, 10) g;');
});

afterAll(async () => {
  for (const name of made) await runSql(inject('postgresUrl'), `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  await Promise.all([source?.drop(), plain?.drop()]);
  await moto?.stop();
  await rm(folder, { recursive: true, force: true });
});

describe('backup.create', () => {
  it('streams the dump into the store and writes a manifest of the snapshot, heartbeating meanwhile', async () => {
    const environment = new MockActivityEnvironment();
    let heartbeats = 0;
    environment.on('heartbeat', () => (heartbeats += 1));
    const result = await environment.run(createBackup, deps, call('backup.create', backupInput('first'), withVault(db(source.url))));
    const dumpFile = join(folder, 'store', 'orders', 'first.dump');
    const bytes = await readFile(dumpFile);
    expect(bytes.subarray(0, 5).toString()).toBe('PGDMP');
    expect(result).toMatchObject({ backupId: 'first', location: dumpFile, bytes: bytes.length, tables: 4, rows: 1200 + 300 + 50 + 30 });
    expect(heartbeats).toBeGreaterThan(0);

    const store = localStore();
    const manifest = await readManifest(store, 'orders', 'first');
    expect(manifest).toMatchObject({ database: source.url.split('/').pop(), source: 'orders-db', sampleRows: 100, dumpKey: 'orders/first.dump', newestHeartbeat: '2024-05-01T12:00:30.000Z' });
    expect(manifest.tables.map((table) => [`${table.schema}.${table.name}`, table.rows, table.sample.rows])).toEqual([
      ['public.customers', 300, 100],
      ['public.events', 50, 50],
      ['public.golive_heartbeat', 30, 30],
      ['public.payments', 1200, 100],
    ]);
    expect(Date.parse(manifest.snapshotAt)).toBeGreaterThanOrEqual(Date.parse(manifest.startedAt));
    expect(Date.parse(manifest.finishedAt)).toBeGreaterThanOrEqual(Date.parse(manifest.snapshotAt));
    expect(catalog.entries.at(-1)).toEqual({ manifest, location: dumpFile });
  });

  it('fingerprints change with the first rows and not with rows past the sample', async () => {
    const before = await createBackup(deps, call('backup.create', backupInput('fp-before'), withVault(db(source.url))));
    await runSql(source.url, "UPDATE payments SET note = 'late edit' WHERE id = 1100");
    const afterLate = await createBackup(deps, call('backup.create', backupInput('fp-late'), withVault(db(source.url))));
    await runSql(source.url, "UPDATE payments SET note = 'early edit' WHERE id = 5");
    const afterEarly = await createBackup(deps, call('backup.create', backupInput('fp-early'), withVault(db(source.url))));
    await runSql(source.url, "UPDATE payments SET note = 'p' || id WHERE id IN (5, 1100)");
    const store = localStore();
    const sample = async (id: string) => (await readManifest(store, 'orders', id)).tables.find((table) => table.name === 'payments')?.sample.md5;
    expect([before.backupId, afterLate.backupId, afterEarly.backupId]).toEqual(['fp-before', 'fp-late', 'fp-early']);
    expect(await sample('fp-late')).toBe(await sample('fp-before'));
    expect(await sample('fp-early')).not.toBe(await sample('fp-before'));
  });

  it('returns the written backup on a retry without dumping again', async () => {
    const request = call('backup.create', backupInput('retried'), withVault(db(source.url)));
    const first = await createBackup(deps, request);
    const dumpFile = join(folder, 'store', 'orders', 'retried.dump');
    const written = await stat(dumpFile);
    await runSql(source.url, "INSERT INTO events VALUES ('after', '{}')");
    const again = await createBackup(deps, request);
    expect(again).toEqual(first);
    expect((await stat(dumpFile)).mtimeMs).toBe(written.mtimeMs);
    expect(catalog.entries.filter((entry) => entry.manifest.backupId === 'retried')).toHaveLength(2);
    await runSql(source.url, "DELETE FROM events WHERE kind = 'after'");
  });

  it('fails without retry, naming the bucket, when the store bucket does not exist', async () => {
    const missing: Target = { type: 's3', bucket: 'no-such-bucket', prefix: '' };
    const failing = createBackup(deps, call('backup.create', backupInput('refused'), withVault(db(source.url), missing)));
    await expect(failing).rejects.toMatchObject({ type: 'StoreFailed', nonRetryable: true, message: expect.stringContaining('cannot read s3://no-such-bucket/orders/refused.manifest.json in backup store vault: NoSuchBucket') });
  });

  it('fails without retry when the store is not a store, naming it', async () => {
    const failing = createBackup(deps, call('backup.create', backupInput('nowhere'), { target: db(source.url), targets: { vault: { type: 'postgres', url: source.url } } }));
    await expect(failing).rejects.toMatchObject({ type: 'InvalidTarget', message: expect.stringContaining('backup store vault is a postgres target, not filesystem or s3') });
  });
});

describe('backup.prune and backup.latest', () => {
  const vault = (): Target => ({ type: 'filesystem', path: join(folder, 'retention') });
  const store = () => openBackupStore({ name: 'vault', spec: { type: 'filesystem', path: join(folder, 'retention') } }, {});
  const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000).toISOString();
  const storeTarget = () => ({ name: 'vault', spec: vault() });

  it('says how to take the first backup when there is none', async () => {
    const failing = latestBackup(call('backup.latest', { service: 'ledger' }, { target: storeTarget() }));
    await expect(failing).rejects.toMatchObject({
      type: 'NoBackup',
      nonRetryable: true,
      message: `no backup of ledger in ${join(folder, 'retention', 'ledger')}: run \`golive backup run RUNBOOK\``,
    });
  });

  it('finds the newest complete backup', async () => {
    for (const [backupId, age] of [['d4', 96], ['d3', 72], ['d2', 48], ['h1', 1]] as const) {
      await createBackup(deps, call('backup.create', { ...backupInput(backupId), service: 'ledger' }, withVault(db(plain.url), vault())));
      const manifest = await readManifest(store(), 'ledger', backupId);
      await writeManifest(store(), { ...manifest, snapshotAt: hoursAgo(age) });
    }
    const latest = await latestBackup(call('backup.latest', { service: 'ledger' }, { target: storeTarget() }));
    const newest = await readManifest(store(), 'ledger', 'h1');
    expect(latest).toEqual({
      backupId: 'h1', location: join(folder, 'retention', 'ledger', 'h1.dump'),
      snapshotAt: newest.snapshotAt, finishedAt: newest.finishedAt, bytes: newest.bytes, sha256: newest.sha256,
    });
  });

  it('keeps the newest N and deletes dump and manifest of the rest', async () => {
    const result = await pruneBackups(deps, call('backup.prune', { service: 'ledger', keep: 3 }, { target: storeTarget() }));
    expect(result).toEqual({ deleted: ['d4'], kept: 3 });
    expect((await store().list('ledger/')).sort()).toEqual(['d2', 'd3', 'h1'].flatMap((id) => [`ledger/${id}.dump`, `ledger/${id}.manifest.json`]));
    expect(catalog.prunes.at(-1)).toEqual({ service: 'ledger', ids: ['d4'] });
  });

  it('deletes backups older than maxAge, and a backup that fails either rule', async () => {
    const result = await pruneBackups(deps, call('backup.prune', { service: 'ledger', keep: 2, maxAge: '60h' }, { target: storeTarget() }));
    expect(result).toEqual({ deleted: ['d3'], kept: 2 });
    const older = await pruneBackups(deps, call('backup.prune', { service: 'ledger', maxAge: '36h' }, { target: storeTarget() }));
    expect(older).toEqual({ deleted: ['d2'], kept: 1 });
  });

  it('never deletes the newest backup, however old', async () => {
    const result = await pruneBackups(deps, call('backup.prune', { service: 'ledger', maxAge: '1m', keep: 1 }, { target: storeTarget() }));
    expect(result).toEqual({ deleted: [], kept: 1 });
    expect(await latestBackup(call('backup.latest', { service: 'ledger' }, { target: storeTarget() }))).toMatchObject({ backupId: 'h1' });
  });
});

describe('backup.verify-checksum', () => {
  const storeTarget = () => ({ name: 'vault', spec: local() });

  it('reads the dump back and matches the manifest', async () => {
    const taken = await createBackup(deps, call('backup.create', backupInput('checked'), withVault(db(source.url))));
    const result = await verifyChecksum(call('backup.verify-checksum', { service: 'orders', backupId: 'checked' }, { target: storeTarget() }));
    expect(result).toEqual({ backupId: 'checked', bytes: taken.bytes, sha256: taken.sha256 });
  });

  it('fails on a flipped byte, naming the backup, both hashes and sizes', async () => {
    const taken = await createBackup(deps, call('backup.create', backupInput('flipped'), withVault(db(source.url))));
    const file = await open(join(folder, 'store', 'orders', 'flipped.dump'), 'r+');
    const byte = Buffer.alloc(1);
    await file.read(byte, 0, 1, 100);
    await file.write(Buffer.from([(byte[0] ?? 0) ^ 0xff]), 0, 1, 100);
    await file.close();
    const failing = verifyChecksum(call('backup.verify-checksum', { service: 'orders', backupId: 'flipped' }, { target: storeTarget() }));
    await expect(failing).rejects.toMatchObject({ type: 'ChecksumMismatch', nonRetryable: true });
    const message = await failing.catch((error: Error) => error.message);
    expect(message).toMatch(new RegExp(`^backup flipped of orders at ${join(folder, 'store', 'orders', 'flipped.dump')} is corrupt: it has sha256 [0-9a-f]{12}… and ${taken.bytes} bytes, its manifest says sha256 ${taken.sha256.slice(0, 12)}… and ${taken.bytes} bytes$`));
  });

  it('says which backup is missing', async () => {
    const failing = verifyChecksum(call('backup.verify-checksum', { service: 'orders', backupId: 'never' }, { target: storeTarget() }));
    await expect(failing).rejects.toMatchObject({ type: 'BackupMissing', message: expect.stringMatching(/^no backup never of orders in .*never\.manifest\.json: its manifest is missing/) });
  });
});

describe('backup.restore and drill.verify', () => {
  const restore = (backupId: string, database: string, vault: Target = local(), service = 'orders') =>
    restoreBackup(deps, call('backup.restore', { store: 'vault', service, backupId, database }, withVault(server(), vault)));
  const check = (backupId: string, database: string, vault: Target = local(), service = 'orders') =>
    verify(call('drill.verify', { store: 'vault', service, backupId, database }, withVault(server(), vault)));

  it('restores a backup and verifies it, reading the newest commit from the heartbeat table', async () => {
    const database = scratch();
    expect(await restore('first', database)).toEqual({ database, backupId: 'first', tables: 4 });
    const result = await check('first', database);
    const store = localStore();
    const manifest = await readManifest(store, 'orders', 'first');
    expect(result).toEqual({
      backupId: 'first', tables: 4, rows: 1580, sampledRows: 100 + 50 + 30 + 100,
      newestCommit: '2024-05-01T12:00:30.000Z', rpoSource: 'heartbeat', snapshotAt: manifest.snapshotAt,
    });
  });

  it('uses the snapshot time when the source has no heartbeat table', async () => {
    const taken = await createBackup(deps, call('backup.create', { ...backupInput('plain-1'), service: 'ledger' }, withVault(db(plain.url))));
    const database = scratch();
    await restore('plain-1', database, local(), 'ledger');
    expect(await check('plain-1', database, local(), 'ledger')).toMatchObject({ tables: 1, rows: 10, newestCommit: taken.snapshotAt, rpoSource: 'snapshot' });
  });

  it('a retry of the same restore reports the finished restore', async () => {
    const request = call('backup.restore', { store: 'vault', service: 'orders', backupId: 'first', database: scratch() }, withVault(server()));
    const first = await restoreBackup(deps, request);
    expect(await restoreBackup(deps, request)).toEqual(first);
  });

  it('fails listing every table whose rows changed in the copy', async () => {
    const database = scratch();
    await restore('first', database);
    await runSql(databaseUrl(inject('postgresUrl'), database), "DELETE FROM payments WHERE id > 1000; UPDATE customers SET name = 'changed' WHERE id = 2");
    const failing = check('first', database);
    await expect(failing).rejects.toMatchObject({ type: 'VerificationFailed', nonRetryable: true });
    const message = await failing.catch((error: Error) => error.message);
    expect(message).toMatch(new RegExp(`^restored database ${database} on drill-db does not match backup first of orders: 2 problems: `));
    expect(message).toContain("1) the first 100 rows of table public.customers differ from the backup's (sample md5 ");
    expect(message).toContain("2) table public.payments has 1000 rows in the restored database, the backup's manifest says 1200");
  });

  it('fails naming a table the backup tool left out', async () => {
    const store = localStore();
    const taken = await createBackup(deps, call('backup.create', backupInput('broken'), withVault(db(source.url))));
    const dumpFile = join(folder, 'store', 'orders', 'broken.dump');
    const env = { ...process.env, PGDATABASE: new URL(source.url).pathname.slice(1), PGHOST: new URL(source.url).hostname, PGPORT: new URL(source.url).port, PGUSER: new URL(source.url).username };
    await run(join(pgBin, 'pg_dump'), ['--format=custom', '--exclude-table=payments', `--file=${dumpFile}`], { env });
    const bytes = await readFile(dumpFile);
    const manifest = await readManifest(store, 'orders', 'broken');
    await writeManifest(store, { ...manifest, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    expect(taken.bytes).not.toBe(bytes.length);
    await verifyChecksum(call('backup.verify-checksum', { service: 'orders', backupId: 'broken' }, { target: { name: 'vault', spec: local() } }));
    const database = scratch();
    expect(await restore('broken', database)).toMatchObject({ tables: 3 });
    await expect(check('broken', database)).rejects.toMatchObject({
      type: 'VerificationFailed',
      message: `restored database ${database} on drill-db does not match backup broken of orders: 1 problem: 1) table public.payments is missing from the restored database (the backup's manifest lists it with 1200 rows)`,
    });
  });

  it('a dump pg_restore cannot read fails without retry and leaves no database behind', async () => {
    await createBackup(deps, call('backup.create', backupInput('garbage'), withVault(db(source.url))));
    await writeFile(join(folder, 'store', 'orders', 'garbage.dump'), 'this is not a pg_dump archive');
    const database = scratch();
    await expect(restore('garbage', database)).rejects.toMatchObject({
      type: 'RestoreFailed',
      nonRetryable: true,
      message: expect.stringContaining(`cannot restore backup garbage of orders (${join(folder, 'store', 'orders', 'garbage.dump')}) into ${database} on drill-db: pg_restore: error: input file does not appear to be a valid archive`),
    });
    const { rowCount } = await runSql(inject('postgresUrl'), 'SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    expect(rowCount).toBe(0);
  });

  it('backs up to S3, checks, restores and verifies from there', async () => {
    const taken = await createBackup(deps, call('backup.create', backupInput('s3-1'), withVault(db(source.url), offsite)));
    expect(taken).toMatchObject({ location: 's3://golive-drills/backups/orders/s3-1.dump', tables: 4 });
    expect(await verifyChecksum(call('backup.verify-checksum', { service: 'orders', backupId: 's3-1' }, { target: { name: 'vault', spec: offsite } }))).toMatchObject({ sha256: taken.sha256 });
    const database = scratch();
    await restore('s3-1', database, offsite);
    expect(await check('s3-1', database, offsite)).toMatchObject({ tables: 4, rows: 1580, rpoSource: 'heartbeat' });
  });
});
