import type pg from 'pg';
import type { AuditEvent, RecordEventInput, RunState, RunStatus } from '../workflows/definitions.ts';

export interface RunSummary {
  runId: string;
  kind: string;
  definitionName: string;
  service: string;
  requestedBy: string;
  status: RunStatus;
  currentStep?: string;
  startedAt: string;
  finishedAt?: string;
}

export interface RunFilter {
  service?: string;
  status?: string;
  limit?: number;
}

/** golive's record of runs: what the workflows wrote, readable when no worker is up. */
export interface RunStore {
  /** Writes an audit event with the run's latest state (and a decision, if any) in one transaction; idempotent by (runId, seq). */
  record(input: RecordEventInput): Promise<void>;
  listRuns(filter?: RunFilter): Promise<RunSummary[]>;
  /** How many runs are in each status, over all runs. */
  countByStatus(): Promise<Record<string, number>>;
  getRun(runId: string): Promise<(RunSummary & { state: RunState }) | undefined>;
  events(runId: string): Promise<AuditEvent[]>;
}

interface RunRow {
  run_id: string;
  kind: string;
  definition_name: string;
  service: string;
  requested_by: string;
  status: RunStatus;
  current_step: string | null;
  started_at: Date;
  finished_at: Date | null;
  state?: RunState;
}

const summary = (row: RunRow): RunSummary => ({
  runId: row.run_id,
  kind: row.kind,
  definitionName: row.definition_name,
  service: row.service,
  requestedBy: row.requested_by,
  status: row.status,
  currentStep: row.current_step ?? undefined,
  startedAt: row.started_at.toISOString(),
  finishedAt: row.finished_at?.toISOString(),
});

const RUN_COLUMNS = 'run_id, kind, definition_name, service, requested_by, status, current_step, started_at, finished_at';

export function createPgRunStore(pool: pg.Pool): RunStore {
  return {
    async record({ event, run, approval }) {
      const { state } = run;
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const inserted = await client.query(
          `INSERT INTO audit_events (run_id, seq, at, actor, action, step_id, detail)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (run_id, seq) DO NOTHING`,
          [event.runId, event.seq, event.at, event.actor, event.action, event.stepId ?? null, JSON.stringify(event.detail ?? {})],
        );
        if (inserted.rowCount === 1) {
          await client.query(
            `INSERT INTO runs (run_id, kind, definition_name, service, requested_by, status, current_step, started_at, finished_at, state, last_seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (run_id) DO UPDATE SET status = EXCLUDED.status, current_step = EXCLUDED.current_step,
               finished_at = EXCLUDED.finished_at, state = EXCLUDED.state, last_seq = EXCLUDED.last_seq, updated_at = now()
             WHERE runs.last_seq < EXCLUDED.last_seq`,
            [state.runId, run.kind, state.runbook, state.service, state.requestedBy, state.status, state.currentStep ?? null,
              state.startedAt, state.finishedAt ?? null, JSON.stringify(state), event.seq],
          );
          if (approval) {
            await client.query(
              `INSERT INTO approvals (run_id, step_id, decision, actor, comment, decided_at) VALUES ($1, $2, $3, $4, $5, $6)`,
              [event.runId, approval.stepId, approval.decision, approval.actor, approval.comment ?? null, approval.at],
            );
          }
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },

    async listRuns(filter = {}) {
      const { rows } = await pool.query<RunRow>(
        `SELECT ${RUN_COLUMNS} FROM runs
         WHERE ($1::text IS NULL OR service = $1) AND ($2::text IS NULL OR status = $2)
         ORDER BY started_at DESC, run_id DESC LIMIT $3`,
        [filter.service ?? null, filter.status ?? null, filter.limit ?? 50],
      );
      return rows.map(summary);
    },

    async countByStatus() {
      const { rows } = await pool.query<{ status: string; runs: number }>('SELECT status, count(*)::int AS runs FROM runs GROUP BY status');
      return Object.fromEntries(rows.map((row) => [row.status, row.runs]));
    },

    async getRun(runId) {
      const { rows } = await pool.query<RunRow & { state: RunState }>(`SELECT ${RUN_COLUMNS}, state FROM runs WHERE run_id = $1`, [runId]);
      const row = rows[0];
      return row && { ...summary(row), state: row.state };
    },

    async events(runId) {
      const { rows } = await pool.query<{ run_id: string; seq: number; at: Date; actor: string; action: string; step_id: string | null; detail: Record<string, unknown> }>(
        'SELECT run_id, seq, at, actor, action, step_id, detail FROM audit_events WHERE run_id = $1 ORDER BY seq',
        [runId],
      );
      return rows.map((row) => ({
        runId: row.run_id,
        seq: row.seq,
        at: row.at.toISOString(),
        actor: row.actor,
        action: row.action,
        stepId: row.step_id ?? undefined,
        detail: row.detail,
      }));
    },
  };
}
