import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Target } from '../../definitions/targets.ts';
import { freePort } from '../../stack/process.ts';
import { parseInput } from '../../activities/call.ts';
import { dropDatabase } from '../../activities/postgres/query.ts';
import { actionRequest, testActivities } from '../support/actions.ts';
import { createTestDatabase, uniqueId } from '../support/db.ts';
import { databaseUrl, runSql } from '../support/sql.ts';

const activities = testActivities();
let database: { url: string; drop(): Promise<void> };
let scratch: string;
let target: { name: string; spec: Target };
const restored: string[] = [];
/** The dump the restore tests use, written by the first of them. */
let dumpFile: string;

beforeAll(async () => {
  database = await createTestDatabase('actions_pg');
  scratch = await mkdtemp(join(tmpdir(), 'golive-pg-actions-'));
  target = { name: 'orders-db', spec: { type: 'postgres', url: database.url } };
  await runSql(database.url, `CREATE TABLE orders (id int PRIMARY KEY, placed timestamptz NOT NULL, payload bytea);
    CREATE TABLE customers (id int PRIMARY KEY, name text);
    INSERT INTO orders SELECT g, '2024-05-01T12:00:00Z', '\\x0102' FROM generate_series(1, 250) g;
    INSERT INTO customers VALUES (1, 'Ada');`);
});

afterAll(async () => {
  for (const name of restored) await runSql(inject('postgresUrl'), `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  await database?.drop();
  await rm(scratch, { recursive: true, force: true });
});

describe('postgres.query', () => {
  it('returns at most 100 rows as JSON-safe values and says when it cut', async () => {
    const result = await activities['postgres.query'](
      actionRequest('postgres.query', { sql: 'SELECT id, placed, payload FROM orders WHERE id > $1 ORDER BY id', params: [10] }, { target }),
    );
    expect(result).toMatchObject({ rowCount: 240, truncated: true });
    expect(result.rows).toHaveLength(100);
    expect((result.rows as unknown[])[0]).toEqual({ id: 11, placed: '2024-05-01T12:00:00.000Z', payload: '\\x0102' });
  });

  it('reports rows changed by a write', async () => {
    const result = await activities['postgres.query'](
      actionRequest('postgres.query', { sql: "UPDATE customers SET name = 'Ada L' WHERE id = 1" }, { target }),
    );
    expect(result).toEqual({ rowCount: 1, rows: [], truncated: false });
  });

  it('fails without retry on SQL the server rejects, naming action and target', async () => {
    const failing = activities['postgres.query'](actionRequest('postgres.query', { sql: 'SELECT nope FROM orders' }, { target }));
    await expect(failing).rejects.toMatchObject({
      type: 'QueryFailed',
      nonRetryable: true,
      message: expect.stringMatching(/^postgres\.query on orders-db: column "nope" does not exist/),
    });
  });

  it('throws a plain, retryable error when the server is down', async () => {
    const down = { name: 'down-db', spec: { type: 'postgres', url: `postgres://postgres@127.0.0.1:${await freePort()}/postgres` } } as const;
    const failing = activities['postgres.query'](actionRequest('postgres.query', { sql: 'SELECT 1' }, { target: down }));
    await expect(failing).rejects.toThrow(/cannot connect to down-db: .*ECONNREFUSED/);
    await expect(failing).rejects.not.toHaveProperty('nonRetryable');
  });
});

describe('postgres.dump and postgres.restore', () => {
  it('dumps to a file and reports its size and checksum, heartbeating meanwhile', async () => {
    dumpFile = join(scratch, 'backups', 'orders.dump');
    const environment = new MockActivityEnvironment();
    let heartbeats = 0;
    environment.on('heartbeat', () => (heartbeats += 1));
    const result = await environment.run(activities['postgres.dump'], actionRequest('postgres.dump', { file: dumpFile }, { target }));
    const bytes = await readFile(dumpFile);
    expect(result).toEqual({ file: dumpFile, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    expect(bytes.subarray(0, 5).toString()).toBe('PGDMP');
    expect(heartbeats).toBeGreaterThan(0);
  });

  it('restores into a new database, and a retry of the same step reports the same restore', async () => {
    const name = uniqueId('restored').replace('-', '_');
    restored.push(name);
    const request = actionRequest('postgres.restore', { file: dumpFile, database: name }, { target });
    expect(await activities['postgres.restore'](request)).toEqual({ database: name, tables: 2 });
    expect(await activities['postgres.restore'](request)).toEqual({ database: name, tables: 2 });
    const { rows } = await runSql(databaseUrl(database.url, name), 'SELECT count(*)::int AS orders FROM orders');
    expect(rows[0]).toEqual({ orders: 250 });
  });

  it('restores into a database named with dashes, like orders-recovery', async () => {
    const name = `orders-recovery-${uniqueId('r').slice(2)}`;
    restored.push(name);
    const request = actionRequest('postgres.restore', { file: dumpFile, database: name }, { target });
    expect(await activities['postgres.restore'](request)).toEqual({ database: name, tables: 2 });
    const { rows } = await runSql(databaseUrl(database.url, name), 'SELECT count(*)::int AS orders FROM orders');
    expect(rows[0]).toEqual({ orders: 250 });
  });

  it('drops and redoes a half-finished restore of the same step', async () => {
    const name = uniqueId('half').replace('-', '_');
    restored.push(name);
    const request = actionRequest('postgres.restore', { file: dumpFile, database: name }, { target });
    await runSql(database.url, `CREATE DATABASE ${name}`);
    await runSql(database.url, `COMMENT ON DATABASE ${name} IS 'golive restore ${request.idempotencyKey} started'`);
    await runSql(databaseUrl(database.url, name), 'CREATE TABLE leftover (id int)');
    expect(await activities['postgres.restore'](request)).toEqual({ database: name, tables: 2 });
  });

  it('refuses to restore over a database another step or person made', async () => {
    const name = uniqueId('taken').replace('-', '_');
    restored.push(name);
    await runSql(database.url, `CREATE DATABASE ${name}`);
    const failing = activities['postgres.restore'](actionRequest('postgres.restore', { file: dumpFile, database: name }, { target }));
    await expect(failing).rejects.toMatchObject({
      type: 'DatabaseExists',
      nonRetryable: true,
      message: `cannot restore ${dumpFile} into ${name} on orders-db: database ${name} already exists and was not created by this step`,
    });
  });

  it('fails on a file that is not a dump and leaves no database behind', async () => {
    const name = uniqueId('broken').replace('-', '_');
    restored.push(name);
    const file = join(scratch, 'not-a-dump.sql');
    await writeFile(file, 'this is not a pg_dump archive');
    const failing = activities['postgres.restore'](actionRequest('postgres.restore', { file, database: name }, { target }));
    await expect(failing).rejects.toMatchObject({
      type: 'RestoreFailed',
      nonRetryable: true,
      message: expect.stringContaining(`cannot restore ${file} into ${name} on orders-db: pg_restore: error: input file does not appear to be a valid archive`),
    });
    const { rowCount } = await runSql(database.url, 'SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    expect(rowCount).toBe(0);
  });

  it('fails without retry when the backup file is missing', async () => {
    const failing = activities['postgres.restore'](actionRequest('postgres.restore', { file: join(scratch, 'none.dump'), database: 'never_made' }, { target }));
    await expect(failing).rejects.toMatchObject({ type: 'BackupMissing', nonRetryable: true });
  });
});

describe('postgres.query on another database of the server', () => {
  it('runs on with.database instead of the target\'s own', async () => {
    const name = uniqueId('other').replace('-', '_');
    restored.push(name);
    await runSql(database.url, `CREATE DATABASE ${name}`);
    await runSql(databaseUrl(database.url, name), "CREATE TABLE drill_marker (note text); INSERT INTO drill_marker VALUES ('scratch copy')");
    const result = await activities['postgres.query'](
      actionRequest('postgres.query', { sql: 'SELECT current_database() AS db, note FROM drill_marker', database: name }, { target }),
    );
    expect(result).toEqual({ rowCount: 1, rows: [{ db: name, note: 'scratch copy' }], truncated: false });
  });

  it('names the database when the query fails there', async () => {
    const failing = activities['postgres.query'](actionRequest('postgres.query', { sql: 'SELECT 1', database: 'orders_not_here' }, { target }));
    await expect(failing).rejects.toMatchObject({
      type: 'QueryFailed',
      message: expect.stringMatching(/^postgres\.query on orders-db \(database orders_not_here\): cannot connect to orders-db: database "orders_not_here" does not exist/),
    });
  });

  it('rejects a database name that is not a plain lower-case identifier', async () => {
    const failing = activities['postgres.query'](actionRequest('postgres.query', { sql: 'SELECT 1', database: 'Orders; DROP' }, { target }));
    await expect(failing).rejects.toMatchObject({ type: 'InvalidInput', message: expect.stringContaining('with.database: must be a lower-case database name') });
  });
});

describe('postgres.drop-database', () => {
  const drop = (name: string, restoredBy?: string) =>
    dropDatabase(parseInput('postgres.drop-database', actionRequest('postgres.drop-database', { database: name, restoredBy }, { target }), {}));
  const exists = async (name: string) => (await runSql(database.url, 'SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
  /** Restores the dump into `name` as step restore-backup of a fresh run; returns that step's idempotency key. */
  const restoreAsStep = async (name: string) => {
    const request = actionRequest('postgres.restore', { file: dumpFile, database: name }, { target, stepId: 'restore-backup' });
    await activities['postgres.restore'](request);
    return request.idempotencyKey;
  };

  it('drops a database even while sessions use it, and a second drop reports nothing to drop', async () => {
    const name = uniqueId('scratch').replace('-', '_');
    restored.push(name);
    await runSql(database.url, `CREATE DATABASE ${name}`);
    const session = new pg.Client({ connectionString: databaseUrl(database.url, name) });
    session.on('error', () => {});
    await session.connect();
    try {
      expect(await drop(name)).toEqual({ database: name, dropped: true });
    } finally {
      await session.end().catch(() => {});
    }
    const { rowCount } = await runSql(database.url, 'SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    expect(rowCount).toBe(0);
    expect(await drop(name)).toEqual({ database: name, dropped: false });
  });

  it("refuses to drop the target's own database", async () => {
    const own = new URL(database.url).pathname.slice(1);
    await expect(drop(own)).rejects.toMatchObject({
      type: 'InvalidInput',
      nonRetryable: true,
      message: `cannot drop database ${own} on orders-db: it is the database target orders-db connects to; name a scratch database such as a drill's restored copy`,
    });
    const { rowCount } = await runSql(database.url, 'SELECT 1 FROM pg_database WHERE datname = $1', [own]);
    expect(rowCount).toBe(1);
  });

  it('with restoredBy, drops the database that restore created', async () => {
    const name = uniqueId('drill').replace('-', '_');
    restored.push(name);
    const key = await restoreAsStep(name);
    expect(key).toMatch(/:restore-backup$/);
    expect(await drop(name, key)).toEqual({ database: name, dropped: true });
    expect(await exists(name)).toBe(false);
    expect(await drop(name, key)).toEqual({ database: name, dropped: false });
  });

  it('with restoredBy, drops what that restore left half-done', async () => {
    const name = uniqueId('half_drop').replace('-', '_');
    restored.push(name);
    const key = `${uniqueId('run')}:restore-backup`;
    await runSql(database.url, `CREATE DATABASE ${name}`);
    await runSql(database.url, `COMMENT ON DATABASE ${name} IS 'golive restore ${key} started'`);
    expect(await drop(name, key)).toEqual({ database: name, dropped: true });
    expect(await exists(name)).toBe(false);
  });

  it('with restoredBy, leaves alone a database of that name made by someone else or by another restore', async () => {
    const handMade = uniqueId('orders_copy').replace('-', '_');
    const otherRun = uniqueId('other_run').replace('-', '_');
    restored.push(handMade, otherRun);
    await runSql(database.url, `CREATE DATABASE ${handMade}`);
    await restoreAsStep(otherRun);
    const key = `${uniqueId('run')}:restore-backup`;
    for (const name of [handMade, otherRun]) {
      expect(await drop(name, key)).toEqual({ database: name, dropped: false, leftAlone: `not created by restore ${key}` });
      expect(await exists(name)).toBe(true);
    }
  });
});
