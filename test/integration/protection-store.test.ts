import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../store/migrate.ts';
import { createPgProtectionStore, type ProtectionStore } from '../../store/protection.ts';
import { createTestDatabase } from '../support/db.ts';
import type { BackupEntry } from '../../definitions/backup-manifest.ts';
import { backupEntry, drillRecord } from '../support/protection-records.ts';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
let store: ProtectionStore;
const base = Date.parse('2026-03-01T10:00:00Z');
const HOUR = 3_600_000;

const count = async (table: 'backups' | 'drills') => (await pool.query<{ rows: number }>(`SELECT count(*)::int AS rows FROM ${table}`)).rows[0]?.rows;

beforeAll(async () => {
  database = await createTestDatabase('protection_store');
  pool = new pg.Pool({ connectionString: database.url });
  await migrate(pool);
  store = createPgProtectionStore(pool);
});

afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

describe('backups', () => {
  const first = backupEntry('orders', 'orders-20260301-1000', base);
  const second = backupEntry('orders', 'orders-20260301-1100', base + HOUR);
  const payments = backupEntry('payments', 'payments-20260301-0900', base - HOUR);

  it('records each backup once, however often the write is retried, and keeps the newest unpruned one per service', async () => {
    await Promise.all([store.recorded(first), store.recorded(first)]);
    await store.recorded(second);
    await store.recorded(payments);
    await store.recorded(second);
    expect(await count('backups')).toBe(3);
    expect(await store.lastBackups()).toEqual([second, payments]);
  });

  it('forgets pruned backups for posture, and pruning again changes nothing', async () => {
    await store.pruned('orders', ['orders-20260301-1100', 'never-recorded']);
    const { rows } = await pool.query<{ pruned_at: Date }>("SELECT pruned_at FROM backups WHERE backup_id = 'orders-20260301-1100'");
    const prunedAt = rows[0]?.pruned_at;
    expect(prunedAt).toBeInstanceOf(Date);
    await store.pruned('orders', ['orders-20260301-1100']);
    await store.pruned('payments', ['orders-20260301-1000']);
    await store.pruned('orders', []);
    const again = await pool.query<{ pruned_at: Date }>("SELECT pruned_at FROM backups WHERE backup_id = 'orders-20260301-1100'");
    expect(again.rows[0]?.pruned_at).toEqual(prunedAt);
    expect((await store.lastBackups()).map((entry) => entry.manifest.backupId)).toEqual(['orders-20260301-1000', 'payments-20260301-0900']);
  });

  it('keeps backups of two services that share an id apart, and pruning one leaves the other', async () => {
    const billing = backupEntry('billing', 'nightly-20260301', base + 2 * HOUR);
    const search = withContents(backupEntry('search', 'nightly-20260301', base + 3 * HOUR), 8_192, 'c');
    await store.recorded(billing);
    await store.recorded(search);
    expect(await count('backups')).toBe(5);
    expect(await store.lastBackups()).toEqual([billing, first, payments, search]);
    await store.pruned('search', ['nightly-20260301']);
    expect(await store.lastBackups()).toEqual([billing, first, payments]);
  });

  it('takes every column of a backup written again under its service and id, and it is restorable again', async () => {
    const rewritten = withContents(backupEntry('search', 'nightly-20260301', base + 4 * HOUR), 16_384, 'd');
    await store.recorded({ ...rewritten, location: 'file:///var/backups/golive/search/nightly-20260301.dump' });
    await store.recorded(rewritten);
    expect(await count('backups')).toBe(5);
    const { rows } = await pool.query<{ snapshot_at: Date; finished_at: Date; bytes: string; sha256: string; location: string; pruned_at: Date | null }>(
      "SELECT snapshot_at, finished_at, bytes, sha256, location, pruned_at FROM backups WHERE service = 'search' AND backup_id = 'nightly-20260301'",
    );
    expect(rows).toEqual([{
      snapshot_at: new Date(rewritten.manifest.snapshotAt),
      finished_at: new Date(rewritten.manifest.finishedAt),
      bytes: '16384',
      sha256: 'd'.repeat(64),
      location: rewritten.location,
      pruned_at: null,
    }]);
    expect(await store.lastBackups()).toEqual([
      backupEntry('billing', 'nightly-20260301', base + 2 * HOUR), first, payments, rewritten,
    ]);
  });
});

function withContents(entry: BackupEntry, bytes: number, digit: string): BackupEntry {
  return { ...entry, manifest: { ...entry.manifest, bytes, sha256: digit.repeat(64) } };
}

describe('drills', () => {
  const orders1 = drillRecord({ runId: 'orders-drill-1', service: 'orders', finishedAt: base });
  const orders2 = drillRecord({ runId: 'orders-drill-2', service: 'orders', finishedAt: base + HOUR, status: 'failed', reason: 'measured RPO 26h 0m exceeds objective 24h' });
  const payments1 = drillRecord({ runId: 'payments-drill-1', service: 'payments', finishedAt: base + 2 * HOUR, status: 'failed', reason: 'health check did not pass within 5m' });
  const billing1 = drillRecord({ runId: 'billing-drill-1', service: 'billing', finishedAt: base + 30 * 60_000 });

  beforeAll(async () => {
    await Promise.all([store.recordDrill(orders1), store.recordDrill(orders1)]);
    for (const record of [orders2, payments1, billing1]) await store.recordDrill(record);
  });

  it('writes a drill once: a retry, even with different content, writes nothing new', async () => {
    await store.recordDrill({ ...orders1, status: 'failed', reason: 'a late retry' });
    expect(await count('drills')).toBe(4);
    expect(await store.getDrill('orders-drill-1')).toEqual(orders1);
    const { rows } = await pool.query<{ rpo_ms: string; rto_objective_ms: string; backup_id: string; rpo_source: string }>(
      "SELECT rpo_ms, rto_objective_ms, backup_id, rpo_source FROM drills WHERE run_id = 'orders-drill-1'",
    );
    expect(rows[0]).toEqual({ rpo_ms: '7500000', rto_objective_ms: String(4 * HOUR), backup_id: 'orders-drill-1-backup', rpo_source: 'heartbeat' });
  });

  it('lists drills newest first, by service and limit, and reads one by run id', async () => {
    const ids = async (filter: { service?: string; limit: number }) => (await store.listDrills(filter)).map((drill) => drill.runId);
    expect(await ids({ limit: 50 })).toEqual(['payments-drill-1', 'orders-drill-2', 'billing-drill-1', 'orders-drill-1']);
    expect(await ids({ service: 'orders', limit: 50 })).toEqual(['orders-drill-2', 'orders-drill-1']);
    expect(await ids({ limit: 2 })).toEqual(['payments-drill-1', 'orders-drill-2']);
    expect(await ids({ service: 'search', limit: 5 })).toEqual([]);
    expect(await store.getDrill('orders-drill-2')).toEqual(orders2);
    expect(await store.getDrill('orders-drill-404')).toBeUndefined();
  });

  it('keeps where a drill was announced: nothing until it is, then the first notice kept', async () => {
    expect(await store.notice('orders-drill-2')).toBeUndefined();
    await store.noticed('orders-drill-2', { channel: 'slack', ts: '1718000000.000101' });
    await store.noticed('orders-drill-2', { channel: 'slack', ts: '1718000000.000102' });
    expect(await store.notice('orders-drill-2')).toEqual({ channel: 'slack', ts: '1718000000.000101' });
    await store.noticed('billing-drill-1', { channel: 'log' });
    expect(await store.notice('billing-drill-1')).toEqual({ channel: 'log' });
    expect(await store.notice('orders-drill-1')).toBeUndefined();
    await store.recordDrill(orders2);
    expect(await store.notice('orders-drill-2')).toEqual({ channel: 'slack', ts: '1718000000.000101' });
    expect(await store.getDrill('orders-drill-2')).toEqual(orders2);
    await expect(store.noticed('orders-drill-404', { channel: 'log' })).rejects.toThrow(
      'cannot record where drill orders-drill-404 was announced: no drill orders-drill-404 is recorded',
    );
  });

  it('gives each service its newest drill and its newest passed drill', async () => {
    expect(await store.lastDrills()).toEqual([
      { service: 'billing', latest: billing1, lastPassed: billing1 },
      { service: 'orders', latest: orders2, lastPassed: orders1 },
      { service: 'payments', latest: payments1, lastPassed: undefined },
    ]);
  });
});

describe('an unmigrated database', () => {
  it('says to start golive once to apply migrations', async () => {
    const empty = await createTestDatabase('protection_empty');
    const emptyPool = new pg.Pool({ connectionString: empty.url });
    try {
      await expect(createPgProtectionStore(emptyPool).listDrills({ limit: 5 })).rejects.toThrow(
        "cannot list drills: golive's database has no backup and drill tables yet; start `golive server` or `golive worker` once to apply its migrations",
      );
    } finally {
      await emptyPool.end();
      await empty.drop();
    }
  });
});
