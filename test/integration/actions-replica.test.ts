import { createServer, type Server, type Socket } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Target } from '../../definitions/targets.ts';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import { actionRequest, testActivities } from '../support/actions.ts';
import { until } from '../support/poll.ts';
import { startReplicaPair, type ReplicaPair } from '../support/replica.ts';
import { runSql } from '../support/sql.ts';

const pgBin = () => requireTool(loadToolchain({ pgBin: process.env.GOLIVE_PG_BIN }), 'pgBin');

let activities: ReturnType<typeof testActivities>;
let pair: ReplicaPair;
const standby = { name: 'orders-standby', spec: { type: 'postgres', url: '${ORDERS_STANDBY_URL}' } } satisfies { name: string; spec: Target };
const primary = { name: 'orders-primary', spec: { type: 'postgres', url: '${ORDERS_PRIMARY_URL}' } } satisfies { name: string; spec: Target };
const targets: Record<string, Target> = { 'orders-primary': primary.spec };

const lag = (input: Record<string, unknown> = {}, acts = activities) =>
  acts['postgres.replication-lag'](actionRequest('postgres.replication-lag', { primary: 'orders-primary', ...input }, { target: standby, targets }));

const TIMELINE_SQL = `SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int AS timeline`;

async function timelineOf(url: string): Promise<number> {
  return (await runSql<{ timeline: number }>(url, TIMELINE_SQL)).rows[0]?.timeline ?? NaN;
}

/** Writes on the primary, then holds until the standby has received (not necessarily replayed) them; the primary's position then. */
async function writeAndShip(replica: ReplicaPair, rows: number): Promise<string | undefined> {
  await runSql(replica.primary.url, 'INSERT INTO orders (total) SELECT g FROM generate_series(1, $1::int) g', [rows]);
  const { rows: [position] } = await runSql<{ lsn: string }>(replica.primary.url, 'SELECT pg_current_wal_lsn()::text AS lsn');
  await until(async () => {
    const received = await runSql<{ ok: boolean }>(replica.standby.url, 'SELECT pg_last_wal_receive_lsn() >= $1::pg_lsn AS ok', [position?.lsn]);
    return received.rows[0]?.ok ? true : undefined;
  }, 10_000, 'standby never received the new WAL');
  return position?.lsn;
}

async function sqlState(work: Promise<unknown>): Promise<string | undefined> {
  try {
    await work;
  } catch (error) {
    return error instanceof pg.DatabaseError ? error.code : 'not a database error';
  }
  return undefined;
}

beforeAll(async () => {
  pair = await startReplicaPair(pgBin());
  activities = testActivities({ ORDERS_PRIMARY_URL: pair.primary.url, ORDERS_STANDBY_URL: pair.standby.url });
  await runSql(pair.primary.url, 'CREATE TABLE orders (id serial PRIMARY KEY, total numeric NOT NULL)');
});

afterAll(async () => {
  await pair?.stop();
});

describe('postgres.replication-lag', () => {
  it('measures no exposure from the primary right after writes: the standby gets time to catch up', async () => {
    await runSql(pair.primary.url, 'INSERT INTO orders (total) SELECT g FROM generate_series(1, 500) g');
    expect(await lag()).toEqual({
      lagBytes: 0,
      lagSeconds: 0,
      standbyInRecovery: true,
      primaryReachable: true,
      receiver: 'streaming',
      exposure: { bytes: 0, seconds: 0, source: 'primary' },
    });
  });

  it('measures bytes and seconds of exposure while the standby holds back replay', async () => {
    await runSql(pair.standby.url, 'SELECT pg_wal_replay_pause()');
    try {
      const shipped = await writeAndShip(pair, 2000);
      const { rows: [behind] } = await runSql<{ bytes: number }>(pair.standby.url, 'SELECT pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::float8 AS bytes', [shipped]);

      const result = await lag({ catchUp: '300ms' });

      expect(result).toMatchObject({ standbyInRecovery: true, primaryReachable: true, exposure: { source: 'primary' } });
      expect(result.exposure).toEqual({ bytes: result.lagBytes, seconds: result.lagSeconds, source: 'primary' });
      expect(result.lagBytes).toBeGreaterThanOrEqual(behind?.bytes ?? Infinity);
      expect(result.lagBytes).toBeGreaterThan(50_000);
      expect(result.lagSeconds).toBeGreaterThan(0);
    } finally {
      await runSql(pair.standby.url, 'SELECT pg_wal_replay_resume()');
    }
    await until(async () => ((await lag()).lagBytes === 0 ? true : undefined), 10_000, 'standby never caught up after resume');
  });

  it('measures from the standby alone when the primary accepts connections but never answers', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const hung = testActivities({ ORDERS_PRIMARY_URL: `postgres://postgres@127.0.0.1:${port}/postgres`, ORDERS_STANDBY_URL: pair.standby.url });
    try {
      const started = Date.now();
      const result = await lag({ primaryTimeout: '1s' }, hung);
      const tookMs = Date.now() - started;

      expect(tookMs).toBeGreaterThanOrEqual(1_000);
      expect(tookMs).toBeLessThan(2_500);
      expect(result).toMatchObject({ standbyInRecovery: true, primaryReachable: false, primaryError: 'timeout expired', receiver: 'streaming' });
      expect(result.exposure).toEqual({ bytes: 0, seconds: expect.any(Number), source: 'standby' });
      expect(result.lagSeconds).toBeGreaterThanOrEqual(0);
    } finally {
      sockets.forEach((socket) => socket.destroy());
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe('postgres.fence and postgres.unfence', () => {
  const fence = () => activities['postgres.fence'](actionRequest('postgres.fence', {}, { target: primary }));
  const unfence = () => activities['postgres.unfence'](actionRequest('postgres.unfence', {}, { target: primary }));

  it('fences a live primary: open sessions are ended and a new session cannot write', async () => {
    const open = new pg.Client({ connectionString: pair.primary.url });
    open.on('error', () => {});
    await open.connect();
    await open.query('BEGIN');
    await open.query('INSERT INTO orders (total) VALUES (-1)');
    const environment = new MockActivityEnvironment();
    const details: unknown[] = [];
    environment.on('heartbeat', (detail: unknown) => details.push(detail));

    const result: Record<string, unknown> = await environment.run(activities['postgres.fence'], actionRequest('postgres.fence', {}, { target: primary }));

    expect(result).toEqual({ state: 'fenced', sessionsEnded: expect.any(Number), verified: true });
    expect(result.sessionsEnded).toBeGreaterThanOrEqual(1);
    expect(details).toContainEqual({ fenced: true });
    await expect(open.query('COMMIT')).rejects.toThrow();
    await open.end().catch(() => {});
    expect(await sqlState(runSql(pair.primary.url, 'INSERT INTO orders (total) VALUES (1)'))).toBe('25006');
    expect((await runSql(pair.primary.url, 'SELECT count(*)::int AS n FROM orders WHERE total = -1')).rows[0]?.n).toBe(0);
  });

  it('reports a fenced primary fenced again', async () => {
    expect(await fence()).toEqual({ state: 'fenced', sessionsEnded: expect.any(Number), verified: true });
  });

  it('unfences: the primary takes writes again, and the standby still follows it', async () => {
    expect(await unfence()).toEqual({ state: 'unfenced' });
    await runSql(pair.primary.url, 'INSERT INTO orders (total) VALUES (2)');
    expect((await lag()).exposure).toEqual({ bytes: 0, seconds: 0, source: 'primary' });
  });

  it('leaves a standby alone: not-primary', async () => {
    const onStandby = { target: standby };
    expect(await activities['postgres.fence'](actionRequest('postgres.fence', {}, onStandby))).toEqual({ state: 'not-primary' });
    expect(await activities['postgres.unfence'](actionRequest('postgres.unfence', {}, onStandby))).toEqual({ state: 'not-primary' });
  });
});

describe('postgres.promote', () => {
  let oldTimeline: number;

  it('promotes the standby, which then takes writes on the next timeline; it heartbeats that it asked for promotion', async () => {
    oldTimeline = await timelineOf(pair.primary.url);
    const environment = new MockActivityEnvironment();
    const details: unknown[] = [];
    environment.on('heartbeat', (detail: unknown) => details.push(detail));
    const before = Date.now();
    const result: Record<string, unknown> = await environment.run(activities['postgres.promote'], actionRequest('postgres.promote', {}, { target: standby }));
    expect(result).toMatchObject({ promoted: true, alreadyPrimary: false, timeline: oldTimeline + 1, writable: true });
    expect(Date.parse(String(result.at))).toBeGreaterThanOrEqual(before);
    expect(details).toContainEqual({ promoteRequested: true });
    await runSql(pair.standby.url, 'INSERT INTO orders (total) VALUES (1)');
  });

  it('leaves a primary alone on a new request: same timeline, never promoted twice', async () => {
    const result = await activities['postgres.promote'](actionRequest('postgres.promote', {}, { target: standby }));
    expect(result).toMatchObject({ promoted: false, alreadyPrimary: true, waitedMs: 0, timeline: oldTimeline + 1, writable: true });
    expect(await timelineOf(pair.standby.url)).toBe(oldTimeline + 1);
  });

  it('reports its own earlier promotion when retried after it', async () => {
    const at = '2030-01-01T00:00:00.000Z';
    const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { promoteRequested: true, at } });
    const result = await retry.run(activities['postgres.promote'], actionRequest('postgres.promote', {}, { target: standby }));
    expect(result).toMatchObject({ promoted: true, alreadyPrimary: false, at, timeline: oldTimeline + 1 });
  });

  it('lag on a promoted server says it is no longer a standby', async () => {
    expect(await lag()).toEqual({
      lagBytes: null,
      lagSeconds: null,
      standbyInRecovery: false,
      primaryReachable: null,
      receiver: null,
      exposure: { bytes: null, seconds: null, source: 'standby' },
    });
  });
});

describe('a lost primary (its own pair: the primary is stopped at once)', () => {
  let lost: ReplicaPair;
  let outage: ReturnType<typeof testActivities>;

  beforeAll(async () => {
    lost = await startReplicaPair(pgBin());
    outage = testActivities({ ORDERS_PRIMARY_URL: lost.primary.url, ORDERS_STANDBY_URL: lost.standby.url });
    await runSql(lost.primary.url, 'CREATE TABLE orders (id serial PRIMARY KEY, total numeric NOT NULL)');
  });

  afterAll(async () => {
    await lost?.stop();
  });

  it('measures exposure from the standby alone within seconds: WAL received but not replayed', async () => {
    expect((await lag({}, outage)).exposure).toEqual({ bytes: 0, seconds: 0, source: 'primary' });
    await runSql(lost.standby.url, 'SELECT pg_wal_replay_pause()');
    await writeAndShip(lost, 2000);
    await lost.crashPrimary();

    const started = Date.now();
    const result = await lag({}, outage);
    const tookMs = Date.now() - started;

    expect(tookMs).toBeLessThan(3_000);
    expect(result).toMatchObject({ standbyInRecovery: true, primaryReachable: false, exposure: { source: 'standby' } });
    expect(result.primaryError).toMatch(/ECONNREFUSED/);
    expect(result.exposure).toEqual({ bytes: result.lagBytes, seconds: result.lagSeconds, source: 'standby' });
    expect(result.lagBytes).toBeGreaterThan(50_000);
    expect(result.lagSeconds).toBeGreaterThan(0);
    await runSql(lost.standby.url, 'SELECT pg_wal_replay_resume()');
  });

  it('fence and unfence of the lost primary report it unreachable', async () => {
    const onPrimary = { target: primary };
    const fenced = await outage['postgres.fence'](actionRequest('postgres.fence', { connectTimeout: '1s' }, onPrimary));
    expect(fenced).toEqual({ state: 'unreachable', error: expect.stringMatching(/ECONNREFUSED/) });
    const unfenced = await outage['postgres.unfence'](actionRequest('postgres.unfence', {}, onPrimary));
    expect(unfenced).toEqual({ state: 'unreachable', error: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('promotes the standby of the lost primary onto the next timeline, writable', async () => {
    const result = await outage['postgres.promote'](actionRequest('postgres.promote', {}, { target: standby }));
    expect(result).toMatchObject({ promoted: true, alreadyPrimary: false, timeline: 2, writable: true });
    await runSql(lost.standby.url, 'INSERT INTO orders (total) VALUES (3)');
  });
});
