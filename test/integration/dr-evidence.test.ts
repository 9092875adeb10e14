import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActionActivities } from '../../activities/catalog.ts';
import { readPosture } from '../../runtime/posture.ts';
import { migrate } from '../../store/migrate.ts';
import { createPgProtectionStore, type ProtectionStore } from '../../store/protection.ts';
import { actionRequest } from '../support/actions.ts';
import { createTestDatabase } from '../support/db.ts';
import { backupEntry, drillRecord, protectedRunbookText } from '../support/protection-records.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
let store: ProtectionStore;
let runbooks = '';
let activities: ReturnType<typeof createActionActivities>;

const evidence = (service: string) => activities['golive.dr-evidence'](actionRequest('golive.dr-evidence', { service }));

beforeAll(async () => {
  database = await createTestDatabase('dr_evidence');
  pool = new pg.Pool({ connectionString: database.url });
  await migrate(pool);
  store = createPgProtectionStore(pool);
  runbooks = await mkdtemp(join(tmpdir(), 'golive-dr-evidence-'));
  for (const service of ['orders', 'payments', 'billing', 'inventory']) {
    await writeFile(join(runbooks, `${service}-backup-restore.yaml`), protectedRunbookText({ name: `${service}-backup-restore`, service }));
  }
  const now = Date.now();
  // orders: everything in order.
  await store.recorded(backupEntry('orders', 'orders-fresh', now - 2 * HOUR));
  await store.recordDrill(drillRecord({ runId: 'orders-drill-1', service: 'orders', finishedAt: now - 3 * DAY }));
  // payments: a fresh backup, but the newest drill failed.
  await store.recorded(backupEntry('payments', 'payments-fresh', now - HOUR));
  await store.recordDrill(drillRecord({ runId: 'payments-drill-1', service: 'payments', finishedAt: now - 3 * DAY }));
  await store.recordDrill(drillRecord({
    runId: 'payments-drill-2', service: 'payments', finishedAt: now - HOUR, status: 'failed', reason: 'measured RPO 26h 0m exceeds objective 24h', rpoMs: 26 * HOUR,
  }));
  // billing: a fresh backup, but the last passed drill is older than the 30d window.
  await store.recorded(backupEntry('billing', 'billing-fresh', now - 3 * HOUR));
  await store.recordDrill(drillRecord({ runId: 'billing-drill-1', service: 'billing', finishedAt: now - 41 * DAY }));
  // inventory: a recent drill, but the newest backup is older than the 24h RPO.
  await store.recorded(backupEntry('inventory', 'inventory-old', now - 26 * HOUR));
  await store.recordDrill(drillRecord({ runId: 'inventory-drill-1', service: 'inventory', finishedAt: now - DAY }));
  // ledger: backed up and drilled, but no runbook declares it.
  await store.recorded(backupEntry('ledger', 'ledger-fresh', now - HOUR));
  await store.recordDrill(drillRecord({ runId: 'ledger-drill-1', service: 'ledger', finishedAt: now - DAY }));
  // What the worker wires: golive posture's report of the same store and runbooks folder.
  activities = createActionActivities({ env: {}, pgBin: '', posture: (at) => readPosture(store, runbooks, at).then((report) => report.services) });
});

afterAll(async () => {
  await pool?.end();
  await database?.drop();
  await rm(runbooks, { recursive: true, force: true });
});

describe('golive.dr-evidence', () => {
  it('passes with a backup younger than the RPO and a restore drill passed within the window, and shows both', async () => {
    const result = await evidence('orders');
    expect(result).toMatchObject({
      ok: true,
      service: 'orders',
      status: 'ok',
      runbook: 'orders-backup-restore',
      objectives: { rpo: '24h', rto: '4h' },
      backup: { backupId: 'orders-fresh', withinRpo: true, age: expect.stringMatching(/^2h 0m$|^1h 59m$/) },
      lastDrill: { runId: 'orders-drill-1', status: 'passed', reason: null },
      lastPassedDrill: { age: expect.stringMatching(/^3d 0h$|^2d 23h$/) },
      drillWindow: '30d',
      stale: false,
      problems: [],
    });
    expect(result.reason).toBeUndefined();
  });

  it('fails when the newest restore drill failed, with that drill and its reason', async () => {
    const result = await evidence('payments');
    expect(result).toMatchObject({
      ok: false,
      status: 'at-risk',
      reason: 'the last restore drill (payments-drill-2) failed: measured RPO 26h 0m exceeds objective 24h',
      lastDrill: { runId: 'payments-drill-2', status: 'failed', reason: 'measured RPO 26h 0m exceeds objective 24h' },
      stale: false,
    });
  });

  it('fails when the last passed drill is older than the drill window', async () => {
    const result = await evidence('billing');
    expect(result).toMatchObject({
      ok: false,
      status: 'stale',
      reason: expect.stringMatching(/^no restore drill passed within 30d \(last passed (41d 0h|40d 23h) ago\)$/),
      drillWindow: '30d',
      lastPassedDrill: { ageMs: expect.any(Number) },
      stale: true,
    });
  });

  it('fails when the newest backup is older than the RPO, by how much', async () => {
    const result = await evidence('inventory');
    expect(result).toMatchObject({ ok: false, status: 'at-risk', backup: { backupId: 'inventory-old', withinRpo: false } });
    expect(result.reason).toMatch(/^the newest backup \(inventory-old\) is 1d (2h|1h) old, older than the RPO 24h$/);
  });

  it('fails for a service no runbook declares, with or without records of it', async () => {
    expect(await evidence('ledger')).toMatchObject({ ok: false, status: 'at-risk', reason: 'golive has no runbook declaring service ledger (add spec.backup/spec.drill)' });
    expect(await evidence('search')).toMatchObject({
      ok: false,
      status: null,
      reason: 'golive has no runbook declaring service search (add spec.backup/spec.drill); no backup or drill of search is recorded either',
    });
  });

  it('fails without retry on a worker that has no records to read', async () => {
    const bare = createActionActivities({ env: {}, pgBin: '' });
    await expect(bare['golive.dr-evidence'](actionRequest('golive.dr-evidence', { service: 'orders' }))).rejects.toMatchObject({
      type: 'EvidenceMissing',
      nonRetryable: true,
      message: expect.stringMatching(/^golive\.dr-evidence orders: this worker has no records of backups and drills to read; run the checklist on a golive worker/),
    });
  });
});
