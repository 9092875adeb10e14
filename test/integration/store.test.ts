import { readdirSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../store/migrate.ts';
import { AuditConflict, createPgRunStore, type RunStore } from '../../store/runs.ts';
import type { ProjectionBatch } from '../../workflows/definitions.ts';
import { createTestDatabase, uniqueId } from '../support/db.ts';
import { scriptedRun } from '../support/runs.ts';

type Database = Awaited<ReturnType<typeof createTestDatabase>>;
const databases: Database[] = [];
const pools: pg.Pool[] = [];

async function freshDatabase(): Promise<{ url: string; pool: pg.Pool }> {
  const database = await createTestDatabase('store');
  databases.push(database);
  const pool = new pg.Pool({ connectionString: database.url });
  pools.push(pool);
  return { url: database.url, pool };
}

let pool: pg.Pool;
let store: RunStore;

beforeAll(async () => {
  ({ pool } = await freshDatabase());
  await migrate(pool);
  store = createPgRunStore(pool);
});

afterAll(async () => {
  await Promise.all(pools.map((each) => each.end()));
  await Promise.all(databases.map((database) => database.drop()));
});

async function recordAll(batches: ProjectionBatch[]): Promise<void> {
  for (const batch of batches) await store.project(batch);
}

const MIGRATIONS = readdirSync(new URL('../../store/migrations/', import.meta.url)).filter((name) => name.endsWith('.sql')).sort();

const auditRows = async (runId: string) =>
  (await pool.query<{ seq: number }>('SELECT seq FROM audit_events WHERE run_id = $1 ORDER BY seq', [runId])).rows.map((row) => row.seq);

describe('migrations', () => {
  it('apply each file once, even when two processes migrate the same database at once', async () => {
    const { url, pool: first } = await freshDatabase();
    const second = new pg.Pool({ connectionString: url });
    pools.push(second);

    const applied = await Promise.all([migrate(first), migrate(second)]);

    expect(applied.flat().sort()).toEqual(MIGRATIONS);
    expect(await migrate(first)).toEqual([]);
    const { rows } = await first.query<{ version: string }>('SELECT version FROM schema_migrations');
    expect(rows.map((row) => row.version).sort()).toEqual(MIGRATIONS);
    const tables = await first.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    );
    expect(tables.rows.map((row) => row.table_name)).toEqual(expect.arrayContaining(['approvals', 'audit_events', 'backups', 'drills', 'runs', 'schema_migrations']));
  });
});

describe('recording events', () => {
  it('keeps one audit row per (run, seq) when the same event is written again, alone or concurrently', async () => {
    const events = scriptedRun({ runId: uniqueId('orders-failover'), service: 'orders', outcome: 'succeeded', startedAt: new Date() });
    const [started, stepStarted, ...rest] = events;
    const runId = started!.run.state.runId;
    await Promise.all([store.project(started!), store.project(started!)]);
    await Promise.all([store.project(stepStarted!), store.project(stepStarted!)]);
    await recordAll(rest);

    await store.project(stepStarted!);
    await store.project(started!);

    expect(await auditRows(runId)).toEqual([1, 2, 3, 4, 5, 6]);
    const run = await store.getRun(runId);
    expect(run?.status).toBe('succeeded');
    expect(run?.state.steps.map((step) => step.status)).toEqual(['succeeded', 'succeeded']);
  });

  it('never lets a late write of an older event roll the run back to an earlier state', async () => {
    const runId = uniqueId('orders-failover');
    const events = scriptedRun({ runId, service: 'orders', outcome: 'failed', startedAt: new Date() });
    const late = events[2]!;
    await recordAll(events.filter((input) => input !== late));
    const before = await store.getRun(runId);

    await store.project(late);

    expect(await auditRows(runId)).toEqual([1, 2, 3, 4, 5, 6]);
    const after = await store.getRun(runId);
    expect(after).toEqual(before);
    expect(after?.status).toBe('failed');
    expect(after?.finishedAt).toBe(events.at(-1)!.run.state.finishedAt);
    expect(after?.state.reason).toBe('step approve-failover failed: rejected by ivan');
  });

  it('writes the approval decision with its audit event, once', async () => {
    const runId = uniqueId('orders-failover');
    const events = scriptedRun({ runId, service: 'orders', outcome: 'succeeded', startedAt: new Date() });
    const approval = events.find((input) => input.approvals.length > 0)!;
    await recordAll(events);
    await store.project(approval);

    const { rows } = await pool.query('SELECT step_id, decision, actor, comment, decided_at FROM approvals WHERE run_id = $1', [runId]);
    expect(rows).toEqual([{
      step_id: 'approve-failover', decision: 'approved', actor: 'ivan', comment: 'lag is within RPO', decided_at: new Date(approval.approvals[0]!.at),
    }]);
    const decided = (await store.events(runId)).find((event) => event.action === 'approval.approved');
    expect(decided).toMatchObject({ actor: 'ivan', stepId: 'approve-failover', detail: { comment: 'lag is within RPO' } });
  });

  it('returns a run\'s events in seq order whatever order they were written in', async () => {
    const runId = uniqueId('orders-failover');
    const events = scriptedRun({ runId, service: 'orders', outcome: 'succeeded', startedAt: new Date() });
    await recordAll([...events].reverse());

    const read = await store.events(runId);

    expect(read.map((event) => [event.seq, event.action])).toEqual([
      [1, 'run.started'], [2, 'step.started'], [3, 'step.succeeded'], [4, 'approval.requested'], [5, 'approval.approved'], [6, 'run.finished'],
    ]);
    expect(read[0]).toEqual({ ...events[0]!.events[0]!, execution: events[0]!.execution, stepId: undefined });
    expect((await store.getRun(runId))?.status).toBe('succeeded');
  });
});

describe('executions of one workflow id', () => {
  it('keeps the events of a reset or reused id beside the earlier execution\'s, never dropping them', async () => {
    const runId = uniqueId('orders-failover');
    const first = scriptedRun({ runId, service: 'orders', outcome: 'failed', startedAt: new Date('2026-03-01T10:00:00Z') });
    const again = scriptedRun({ runId, service: 'orders', outcome: 'succeeded', startedAt: new Date('2026-03-01T11:00:00Z') })
      .map((batch) => ({ ...batch, execution: 'second-execution' }));
    await recordAll(first);
    await recordAll(again);

    const events = await store.events(runId);
    expect(events).toHaveLength(12);
    expect(events.map((event) => `${event.execution === 'second-execution' ? 2 : 1}:${event.seq}`)).toEqual([
      '1:1', '1:2', '1:3', '1:4', '1:5', '1:6', '2:1', '2:2', '2:3', '2:4', '2:5', '2:6',
    ]);
    expect((await store.getRun(runId))?.status).toBe('succeeded');
    const { rows } = await pool.query('SELECT decision FROM approvals WHERE run_id = $1 ORDER BY decided_at', [runId]);
    expect(rows.map((row) => row.decision)).toEqual(['rejected', 'approved']);
  });

  it('refuses a write whose event has the key of a recorded one but other content, and changes nothing', async () => {
    const runId = uniqueId('orders-failover');
    const batches = scriptedRun({ runId, service: 'orders', outcome: 'succeeded', startedAt: new Date() });
    await recordAll(batches);
    const forged = { ...batches[4]!, events: [{ ...batches[4]!.events[0]!, actor: 'mallory' }] };

    await expect(store.project(forged)).rejects.toThrow(AuditConflict);
    await expect(store.project(forged)).rejects.toThrow(`audit event 5 of run ${runId}`);
    expect((await store.events(runId)).find((event) => event.seq === 5)?.actor).toBe('ivan');
  });
});

describe('the audit trail', () => {
  it('refuses UPDATE, DELETE and TRUNCATE with the trigger\'s message', async () => {
    const runId = uniqueId('orders-failover');
    await recordAll(scriptedRun({ runId, service: 'orders', outcome: 'succeeded', startedAt: new Date() }));

    await expect(pool.query("UPDATE audit_events SET actor = 'mallory' WHERE run_id = $1", [runId]))
      .rejects.toThrow('audit_events is append-only: UPDATE is not allowed');
    await expect(pool.query('DELETE FROM audit_events WHERE run_id = $1', [runId]))
      .rejects.toThrow('audit_events is append-only: DELETE is not allowed');
    await expect(pool.query('TRUNCATE audit_events')).rejects.toThrow('audit_events is append-only: TRUNCATE is not allowed');

    expect(await auditRows(runId)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await store.events(runId)).every((event) => event.actor !== 'mallory')).toBe(true);
  });
});

describe('listing runs', () => {
  it('filters by service and status and lists the newest first', async () => {
    const { pool: own } = await freshDatabase();
    await migrate(own);
    const listed = createPgRunStore(own);
    const base = Date.parse('2026-03-01T10:00:00Z');
    const runs = [
      { runId: 'orders-1', service: 'orders', outcome: 'succeeded', startedAt: new Date(base) },
      { runId: 'payments-1', service: 'payments', outcome: 'failed', startedAt: new Date(base + 60_000) },
      { runId: 'orders-2', service: 'orders', outcome: 'waiting-approval', startedAt: new Date(base + 120_000) },
      { runId: 'orders-3', service: 'orders', outcome: 'succeeded', startedAt: new Date(base + 180_000) },
    ] as const;
    for (const run of runs) for (const batch of scriptedRun(run)) await listed.project(batch);
    const ids = async (filter: Parameters<RunStore['listRuns']>[0]) => (await listed.listRuns(filter)).map((run) => run.runId);

    expect(await ids({})).toEqual(['orders-3', 'orders-2', 'payments-1', 'orders-1']);
    expect(await ids({ service: 'orders' })).toEqual(['orders-3', 'orders-2', 'orders-1']);
    expect(await ids({ status: 'succeeded' })).toEqual(['orders-3', 'orders-1']);
    expect(await ids({ service: 'orders', status: 'waiting-approval' })).toEqual(['orders-2']);
    expect(await ids({ service: 'billing' })).toEqual([]);
    expect(await ids({ limit: 2 })).toEqual(['orders-3', 'orders-2']);

    const [newest] = await listed.listRuns({ limit: 1 });
    expect(newest).toEqual({
      runId: 'orders-3', kind: 'runbook', definitionName: 'orders-failover', service: 'orders', requestedBy: 'rita',
      status: 'succeeded', currentStep: undefined, startedAt: '2026-03-01T10:03:00.000Z', finishedAt: '2026-03-01T10:03:06.000Z',
    });
    const waiting = await listed.getRun('orders-2');
    expect(waiting).toMatchObject({ status: 'waiting-approval', currentStep: 'approve-failover', finishedAt: undefined });
  });
});
