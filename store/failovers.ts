import type pg from 'pg';
import { FINISHED, type FailoverRecord } from '../workflows/definitions.ts';

/** golive's record of failovers and failover drills: the workflow's record as it stands, newest batch wins. */

export interface FailoverFilter {
  service?: string;
  /** true: drills only; false: real failovers only; undefined: both. */
  drill?: boolean;
  limit: number;
}

const NO_TABLES = '42P01';

/** A database golive has not migrated yet gets a message that says what to do. */
async function guarded<T>(action: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === NO_TABLES) {
      throw new Error(`cannot ${action}: golive's database has no failovers table yet; start \`golive server\` or \`golive worker\` once to apply its migrations`, { cause: error });
    }
    throw error;
  }
}

/**
 * Writes a failover's record as the workflow sent it, inside the batch's transaction. A record
 * already finished is only replaced by another finished one: a stale batch that still says
 * `running` never undoes the outcome.
 */
export async function upsertFailover(client: pg.ClientBase, record: FailoverRecord): Promise<void> {
  await guarded(`record failover ${record.runId}`, () =>
    client.query(
      `INSERT INTO failovers (run_id, service, runbook, status, drill, environment, declared_at, recovered_at, record)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (run_id) DO UPDATE SET service = EXCLUDED.service, runbook = EXCLUDED.runbook, status = EXCLUDED.status,
         drill = EXCLUDED.drill, environment = EXCLUDED.environment, declared_at = EXCLUDED.declared_at,
         recovered_at = EXCLUDED.recovered_at, record = EXCLUDED.record, updated_at = now()
       WHERE failovers.status <> ALL($10::text[]) OR EXCLUDED.status = ANY($10::text[])`,
      [record.runId, record.service, record.runbook, record.status, record.drill, record.environment ?? null,
        record.declaredAt, record.recoveredAt ?? null, JSON.stringify(record), FINISHED],
    ),
  );
}

export async function getFailover(pool: pg.Pool, runId: string): Promise<FailoverRecord | undefined> {
  const { rows } = await guarded(`read failover ${runId}`, () =>
    pool.query<{ record: FailoverRecord }>('SELECT record FROM failovers WHERE run_id = $1', [runId]),
  );
  return rows[0]?.record;
}

/** Failovers newest first, by when they were declared. */
export async function listFailovers(pool: pg.Pool, filter: FailoverFilter): Promise<FailoverRecord[]> {
  const { rows } = await guarded('list failovers', () =>
    pool.query<{ record: FailoverRecord }>(
      `SELECT record FROM failovers WHERE ($1::text IS NULL OR service = $1) AND ($2::boolean IS NULL OR drill = $2)
       ORDER BY declared_at DESC, run_id DESC LIMIT $3`,
      [filter.service ?? null, filter.drill ?? null, filter.limit],
    ),
  );
  return rows.map((row) => row.record);
}

/** Each service's newest failover drill, by when it was declared, in service order: what posture shows. */
export async function lastFailoverDrills(pool: pg.Pool): Promise<FailoverRecord[]> {
  const { rows } = await guarded('read the newest failover drills', () =>
    pool.query<{ record: FailoverRecord }>(
      'SELECT DISTINCT ON (service) record FROM failovers WHERE drill ORDER BY service, declared_at DESC, run_id DESC',
    ),
  );
  return rows.map((row) => row.record);
}

/** Every service golive has a failover (or failover drill) of, in name order. */
export async function failoverServices(pool: pg.Pool): Promise<string[]> {
  const { rows } = await guarded('list the services with failovers', () =>
    pool.query<{ service: string }>('SELECT DISTINCT service FROM failovers ORDER BY service'),
  );
  return rows.map((row) => row.service);
}
