import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, UserError } from '../../runtime/errors.ts';
import { listFailovers as listChecked, readFailover } from '../../runtime/failovers.ts';
import { getFailover, listFailovers, upsertFailover } from '../../store/failovers.ts';
import { migrate } from '../../store/migrate.ts';
import { AuditConflict, createPgRunStore } from '../../store/runs.ts';
import { inTransaction } from '../../store/transaction.ts';
import type { FailoverRecord } from '../../workflows/definitions.ts';
import { createTestDatabase } from '../support/db.ts';
import { failoverBatch, finishedFailover, runningFailover } from '../support/failover-records.ts';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
const base = Date.parse('2026-03-01T10:00:00Z');
const HOUR = 3_600_000;

const write = (record: FailoverRecord) => inTransaction(pool, (client) => upsertFailover(client, record));

interface Row { status: string; drill: boolean; environment: string | null; declared_at: Date; recovered_at: Date | null }
async function row(runId: string): Promise<Row | undefined> {
  const { rows } = await pool.query<Row>('SELECT status, drill, environment, declared_at, recovered_at FROM failovers WHERE run_id = $1', [runId]);
  return rows[0];
}

beforeAll(async () => {
  database = await createTestDatabase('failover_store');
  pool = new pg.Pool({ connectionString: database.url });
  await migrate(pool);
});

afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

describe('the failover record', () => {
  it('is written with its first batch and replaced by each newer one while the failover runs', async () => {
    const declared = runningFailover({ runId: 'orders-20260301-1000-aa01', declaredAt: base, status: 'running' });
    await write(declared);
    expect(await getFailover(pool, declared.runId)).toEqual(declared);
    const waiting = runningFailover({ runId: declared.runId, declaredAt: base });
    await write(waiting);
    expect(await getFailover(pool, declared.runId)).toEqual(waiting);
    const done = finishedFailover(waiting);
    await write(done);
    expect(await getFailover(pool, declared.runId)).toEqual(done);
    expect(await row(declared.runId)).toEqual({ status: 'succeeded', drill: false, environment: null, declared_at: new Date(base), recovered_at: new Date(base + 90_000) });
  });

  it('never lets a stale batch that still says running overwrite a finished record; a finished one replaces it', async () => {
    const running = runningFailover({ runId: 'orders-20260301-1100-aa02', declaredAt: base + HOUR });
    const done = finishedFailover(running);
    await write(done);
    await write(running);
    await write({ ...running, status: 'rolling-back' });
    expect(await getFailover(pool, running.runId)).toEqual(done);
    expect((await row(running.runId))?.status).toBe('succeeded');
    const rewritten = { ...done, outcome: 'the old primary must be rebuilt by a DBA' };
    await write(rewritten);
    expect(await getFailover(pool, running.runId)).toEqual(rewritten);
  });

  it('is written in the transaction of its audit batch: a batch that conflicts writes no record', async () => {
    const store = createPgRunStore(pool);
    const running = runningFailover({ runId: 'orders-20260301-1200-aa03', declaredAt: base + 2 * HOUR });
    await store.project(failoverBatch(running, 1));
    expect(await getFailover(pool, running.runId)).toEqual(running);
    expect((await store.getRun(running.runId))?.kind).toBe('failover');

    const conflicting = failoverBatch(finishedFailover(running), 1);
    conflicting.events = [{ ...conflicting.events[0]!, action: 'test.other-content' }];
    await expect(store.project(conflicting)).rejects.toBeInstanceOf(AuditConflict);
    expect(await getFailover(pool, running.runId)).toEqual(running);

    await store.project(failoverBatch(finishedFailover(running), 2));
    expect((await getFailover(pool, running.runId))?.status).toBe('succeeded');
  });

  it('answers a run id it has no record of with undefined, and readFailover with NotFoundError naming the list command', async () => {
    expect(await getFailover(pool, 'no-such-failover')).toBeUndefined();
    const error = await readFailover(pool, 'no-such-failover').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as Error).message).toBe('no failover no-such-failover: list them with `golive failover list`');
  });
});

describe('listing failovers', () => {
  const at = (hours: number) => base + 10 * HOUR + hours * HOUR;
  const ledger = runningFailover({ runId: 'ledger-20260301-2000-bb01', service: 'ledger', declaredAt: at(0) });
  const ledgerDrill = finishedFailover(runningFailover({ runId: 'ledger-20260301-2100-bb02', service: 'ledger', declaredAt: at(1), drill: 'staging' }));
  const ledgerLater = finishedFailover(runningFailover({ runId: 'ledger-20260301-2200-bb03', service: 'ledger', declaredAt: at(2) }), 'failed');
  const billing = runningFailover({ runId: 'billing-20260301-2300-bb04', service: 'billing', declaredAt: at(3), drill: 'dr-lab' });

  beforeAll(async () => {
    for (const record of [ledgerLater, billing, ledger, ledgerDrill]) await write(record);
  });

  it('lists newest first by T_d, filtered by service and by drill, up to the limit', async () => {
    const ids = (records: FailoverRecord[]) => records.map((record) => record.runId);
    expect(ids(await listFailovers(pool, { service: 'ledger', limit: 10 }))).toEqual([ledgerLater.runId, ledgerDrill.runId, ledger.runId]);
    expect(ids(await listFailovers(pool, { service: 'ledger', drill: false, limit: 10 }))).toEqual([ledgerLater.runId, ledger.runId]);
    expect(await listFailovers(pool, { service: 'ledger', drill: true, limit: 10 })).toEqual([ledgerDrill]);
    expect(ids(await listFailovers(pool, { drill: true, limit: 10 }))).toEqual([billing.runId, ledgerDrill.runId]);
    expect(ids(await listFailovers(pool, { limit: 2 }))).toEqual([billing.runId, ledgerLater.runId]);
    expect((await row(ledgerDrill.runId))?.environment).toBe('staging');
  });

  it('refuses a service golive has no failover of, naming the services it has', async () => {
    expect(await listChecked(pool, { service: 'billing', drill: false, limit: 10 })).toEqual([]);
    const error = await listChecked(pool, { service: 'payments', limit: 10 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toBe('service: golive has no failovers of a service "payments"; services with failovers: billing, ledger, orders');
  });
});
