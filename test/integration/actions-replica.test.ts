import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Target } from '../../definitions/targets.ts';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import { actionRequest, testActivities } from '../support/actions.ts';
import { until } from '../support/poll.ts';
import { startReplicaPair, type ReplicaPair } from '../support/replica.ts';
import { runSql } from '../support/sql.ts';

let activities: ReturnType<typeof testActivities>;
let pair: ReplicaPair;
let standby: { name: string; spec: Target };
let targets: Record<string, Target>;

const lag = () =>
  activities['postgres.replication-lag'](actionRequest('postgres.replication-lag', { primary: 'orders-primary' }, { target: standby, targets }));

beforeAll(async () => {
  pair = await startReplicaPair(requireTool(loadToolchain({ pgBin: process.env.GOLIVE_PG_BIN }), 'pgBin'));
  standby = { name: 'orders-standby', spec: { type: 'postgres', url: '${ORDERS_STANDBY_URL}' } };
  targets = { 'orders-primary': { type: 'postgres', url: '${ORDERS_PRIMARY_URL}' } };
  activities = testActivities({ ORDERS_PRIMARY_URL: pair.primary.url, ORDERS_STANDBY_URL: pair.standby.url });
  await runSql(pair.primary.url, 'CREATE TABLE orders (id serial PRIMARY KEY, total numeric NOT NULL)');
});

afterAll(async () => {
  await pair?.stop();
});

describe('postgres.replication-lag', () => {
  it('reports no lag once the standby has replayed everything', async () => {
    const caughtUp = await until(async () => {
      const result = await lag();
      return result.lagBytes === 0 ? result : undefined;
    }, 10_000, 'standby never caught up');
    expect(caughtUp).toEqual({ lagBytes: 0, lagSeconds: 0, standbyInRecovery: true });
  });

  it('measures bytes and seconds behind while the standby holds back replay', async () => {
    await runSql(pair.standby.url, 'SELECT pg_wal_replay_pause()');
    await runSql(pair.primary.url, 'INSERT INTO orders (total) SELECT g FROM generate_series(1, 2000) g');
    const { rows } = await runSql<{ lsn: string }>(pair.primary.url, 'SELECT pg_current_wal_lsn()::text AS lsn');
    await until(async () => {
      const received = await runSql<{ ok: boolean }>(pair.standby.url, 'SELECT pg_last_wal_receive_lsn() >= $1::pg_lsn AS ok', [rows[0]?.lsn]);
      return received.rows[0]?.ok ? true : undefined;
    }, 10_000, 'standby never received the new WAL');
    const { rows: behind } = await runSql<{ bytes: number }>(
      pair.standby.url,
      'SELECT pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::float8 AS bytes',
      [rows[0]?.lsn],
    );

    const result = await lag();

    expect(result.standbyInRecovery).toBe(true);
    expect(result.lagBytes).toBeGreaterThanOrEqual(behind[0]?.bytes ?? Infinity);
    expect(result.lagBytes).toBeGreaterThan(50_000);
    expect(result.lagSeconds).toBeGreaterThan(0);
    await runSql(pair.standby.url, 'SELECT pg_wal_replay_resume()');
    await until(async () => ((await lag()).lagBytes === 0 ? true : undefined), 10_000, 'standby never caught up after resume');
  });
});

describe('postgres.promote', () => {
  it('promotes the standby, which then takes writes; it heartbeats that it asked for promotion', async () => {
    const environment = new MockActivityEnvironment();
    const details: unknown[] = [];
    environment.on('heartbeat', (detail: unknown) => details.push(detail));
    const result = await environment.run(activities['postgres.promote'], actionRequest('postgres.promote', {}, { target: standby }));
    expect(result).toMatchObject({ promoted: true, alreadyPrimary: false });
    expect(details).toContainEqual({ promoteRequested: true });
    await runSql(pair.standby.url, 'INSERT INTO orders (total) VALUES (1)');
  });

  it('leaves a primary alone on a new request', async () => {
    expect(await activities['postgres.promote'](actionRequest('postgres.promote', {}, { target: standby }))).toEqual({
      promoted: false,
      alreadyPrimary: true,
      waitedMs: 0,
    });
  });

  it('reports its own earlier promotion when retried after it', async () => {
    const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { promoteRequested: true } });
    const result = await retry.run(activities['postgres.promote'], actionRequest('postgres.promote', {}, { target: standby }));
    expect(result).toMatchObject({ promoted: true, alreadyPrimary: false });
  });

  it('lag on a promoted server says it is no longer a standby', async () => {
    expect(await lag()).toEqual({ lagBytes: null, lagSeconds: null, standbyInRecovery: false });
  });
});
