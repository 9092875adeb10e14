import type pg from 'pg';
import {
  CHECKLIST_STATUSES, ROLLOUT_FINISHED, type ChecklistRecord, type RolloutRecord,
} from '../workflows/definitions.ts';

/**
 * Rollouts and checklist runs as golive's Postgres holds them: the workflow's record as it stands,
 * newest batch wins, and a finished record is only ever replaced by another finished one.
 */

const NO_TABLES = '42P01';
const CHECKLIST_FINISHED = CHECKLIST_STATUSES.filter((status) => status !== 'running');

interface Table<R> {
  table: 'rollouts' | 'checklist_runs';
  what: string;
  finished: readonly string[];
  /** The row's query columns (besides run_id, status, started_at, record), from the record. */
  columns: (record: R) => Record<string, string>;
  startedAt: (record: R) => string;
}

const ROLLOUTS: Table<RolloutRecord> = {
  table: 'rollouts', what: 'rollout', finished: ROLLOUT_FINISHED,
  columns: (record) => ({ service: record.service, plan: record.plan, flag_key: record.flag.key }),
  startedAt: (record) => record.startedAt,
};

const CHECKLIST_RUNS: Table<ChecklistRecord> = {
  table: 'checklist_runs', what: 'checklist run', finished: CHECKLIST_FINISHED,
  columns: (record) => ({ service: record.service, checklist: record.checklist }),
  startedAt: (record) => record.startedAt,
};

async function guarded<T>(action: string, table: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === NO_TABLES) {
      throw new Error(`cannot ${action}: golive's database has no ${table} table yet; start \`golive server\` or \`golive worker\` once to apply its migrations`, { cause: error });
    }
    throw error;
  }
}

async function upsert<R extends { runId: string; status: string }>(client: pg.ClientBase, spec: Table<R>, record: R): Promise<void> {
  const columns = spec.columns(record);
  const names = ['run_id', 'status', 'started_at', 'record', ...Object.keys(columns)];
  const values = [record.runId, record.status, spec.startedAt(record), JSON.stringify(record), ...Object.values(columns)];
  const updates = names.slice(1).map((name) => `${name} = EXCLUDED.${name}`).join(', ');
  await guarded(`record ${spec.what} ${record.runId}`, spec.table, () =>
    client.query(
      `INSERT INTO ${spec.table} (${names.join(', ')}) VALUES (${names.map((_, index) => `$${index + 1}`).join(', ')})
       ON CONFLICT (run_id) DO UPDATE SET ${updates}, updated_at = now()
       WHERE ${spec.table}.status <> ALL($${names.length + 1}::text[]) OR EXCLUDED.status = ANY($${names.length + 1}::text[])`,
      [...values, spec.finished],
    ),
  );
}

async function get<R>(pool: pg.Pool, spec: Table<R>, runId: string): Promise<R | undefined> {
  const { rows } = await guarded(`read ${spec.what} ${runId}`, spec.table, () =>
    pool.query<{ record: R }>(`SELECT record FROM ${spec.table} WHERE run_id = $1`, [runId]),
  );
  return rows[0]?.record;
}

async function list<R>(pool: pg.Pool, spec: Table<R>, filter: { service?: string; limit: number }): Promise<R[]> {
  const { rows } = await guarded(`list ${spec.what}s`, spec.table, () =>
    pool.query<{ record: R }>(
      `SELECT record FROM ${spec.table} WHERE ($1::text IS NULL OR service = $1) ORDER BY started_at DESC, run_id DESC LIMIT $2`,
      [filter.service ?? null, filter.limit],
    ),
  );
  return rows.map((row) => row.record);
}

export const upsertRollout = (client: pg.ClientBase, record: RolloutRecord) => upsert(client, ROLLOUTS, record);
export const getRollout = (pool: pg.Pool, runId: string) => get(pool, ROLLOUTS, runId);
export const listRollouts = (pool: pg.Pool, filter: { service?: string; limit: number }) => list(pool, ROLLOUTS, filter);

export const upsertChecklistRun = (client: pg.ClientBase, record: ChecklistRecord) => upsert(client, CHECKLIST_RUNS, record);
export const getChecklistRun = (pool: pg.Pool, runId: string) => get(pool, CHECKLIST_RUNS, runId);
export const listChecklistRuns = (pool: pg.Pool, filter: { service?: string; limit: number }) => list(pool, CHECKLIST_RUNS, filter);
