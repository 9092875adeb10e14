import type pg from 'pg';
import type { AuditEvent, ProjectionBatch, RunState, RunStatus } from '../workflows/definitions.ts';
import { upsertFailover } from './failovers.ts';
import { upsertChecklistRun, upsertRollout } from './run-records.ts';
import { inTransaction } from './transaction.ts';

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
  /**
   * Writes a batch of a run's audit trail with its latest state (and decisions, a finished drill,
   * a failover's record) in one transaction. Idempotent by (run id, execution, seq); a row already there with
   * other content fails with AuditConflict.
   */
  project(batch: ProjectionBatch): Promise<void>;
  listRuns(filter?: RunFilter): Promise<RunSummary[]>;
  /** Every service golive has a run of, in name order. */
  services(): Promise<string[]>;
  /** How many runs are in each status, over all runs. */
  countByStatus(): Promise<Record<string, number>>;
  getRun(runId: string): Promise<(RunSummary & { state: RunState }) | undefined>;
  /** The run's audit trail: each Temporal execution's events in order, executions oldest first. */
  events(runId: string): Promise<RecordedEvent[]>;
}

export interface RecordedEvent extends AuditEvent {
  /** Temporal's run id of the execution that wrote the event. */
  execution: string;
}

/** An audit row already written with other content: the trail would lie if it were overwritten or skipped. */
export class AuditConflict extends Error {
  override name = 'AuditConflict';
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

export function createPgRunStore(pool: pg.Pool, drills?: DrillWriter): RunStore {
  return {
    async project(batch) {
      await inTransaction(pool, async (client) => {
        await insertEvents(client, batch);
        await upsertRun(client, batch);
        for (const approval of batch.approvals) {
          await client.query(
            `INSERT INTO approvals (run_id, execution, step_id, decision, actor, channel, comment, decided_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
            [batch.run.state.runId, batch.execution, approval.stepId, approval.decision, approval.actor, approval.channel ?? null, approval.comment ?? null, approval.at],
          );
        }
        if (batch.drill) {
          if (!drills) throw new Error('this run store cannot record drills: create it with a drill writer');
          await drills.recordDrill(batch.drill, client);
        }
        if (batch.failover) await upsertFailover(client, batch.failover);
        if (batch.rollout) await upsertRollout(client, batch.rollout);
        if (batch.checklist) await upsertChecklistRun(client, batch.checklist);
      });
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

    async services() {
      const { rows } = await pool.query<{ service: string }>('SELECT DISTINCT service FROM runs ORDER BY service');
      return rows.map((row) => row.service);
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
      const { rows } = await pool.query<EventRow>(
        `SELECT ${EVENT_COLUMNS}, min(at) OVER (PARTITION BY execution) AS execution_started
         FROM audit_events WHERE run_id = $1 ORDER BY execution_started, execution, seq`,
        [runId],
      );
      return rows.map(recordedEvent);
    },
  };
}

/** Where a finished drill is written, inside the batch's transaction (store/protection.ts). */
export interface DrillWriter {
  recordDrill(record: NonNullable<ProjectionBatch['drill']>, client: pg.ClientBase): Promise<void>;
}

interface EventRow {
  run_id: string;
  execution: string;
  seq: number;
  at: Date;
  actor: string;
  channel: string | null;
  action: string;
  step_id: string | null;
  detail: Record<string, unknown>;
}

const EVENT_COLUMNS = 'run_id, execution, seq, at, actor, channel, action, step_id, detail';

function recordedEvent(row: EventRow): RecordedEvent {
  const event: RecordedEvent = {
    runId: row.run_id,
    execution: row.execution,
    seq: row.seq,
    at: row.at.toISOString(),
    actor: row.actor,
    action: row.action,
    stepId: row.step_id ?? undefined,
    detail: row.detail,
  };
  if (row.channel !== null) event.channel = row.channel as AuditEvent['channel'];
  return event;
}

/** Inserts the batch's events; a key already taken must hold the same event, or the write fails. */
async function insertEvents(client: pg.PoolClient, batch: ProjectionBatch): Promise<void> {
  if (batch.events.length === 0) return;
  const rows = batch.events.map((event) => ({ ...event, detail: event.detail ?? {}, channel: event.channel ?? null, stepId: event.stepId ?? null }));
  const records = rows.map((row) => ({ run_id: row.runId, seq: row.seq, at: row.at, actor: row.actor, channel: row.channel, action: row.action, step_id: row.stepId, detail: row.detail }));
  const inserted = await client.query<{ seq: number }>(
    `INSERT INTO audit_events (run_id, execution, seq, at, actor, channel, action, step_id, detail)
     SELECT run_id, $1, seq, at, actor, channel, action, step_id, detail
     FROM jsonb_to_recordset($2::jsonb) AS e(run_id text, seq int, at timestamptz, actor text, channel text, action text, step_id text, detail jsonb)
     ON CONFLICT (run_id, execution, seq) DO NOTHING RETURNING seq`,
    [batch.execution, JSON.stringify(records)],
  );
  const written = new Set(inserted.rows.map((row) => row.seq));
  const existing = rows.filter((row) => !written.has(row.seq));
  if (existing.length === 0) return;
  const { rows: found } = await client.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE run_id = $1 AND execution = $2 AND seq = ANY($3::int[])`,
    [batch.run.state.runId, batch.execution, existing.map((row) => row.seq)],
  );
  const bySeq = new Map(found.map((row) => [row.seq, recordedEvent(row)]));
  for (const row of existing) {
    const stored = bySeq.get(row.seq);
    const wanted = { ...row, execution: batch.execution, stepId: row.stepId ?? undefined, channel: row.channel ?? undefined };
    if (!stored || !sameEvent(stored, wanted)) {
      throw new AuditConflict(`audit event ${row.seq} of run ${row.runId} (execution ${batch.execution}) is already recorded with other content (${stored?.action ?? 'missing'}); the trail is left as it was`);
    }
  }
}

function sameEvent(stored: RecordedEvent, wanted: AuditEvent): boolean {
  return stored.action === wanted.action && stored.actor === wanted.actor && Date.parse(stored.at) === Date.parse(wanted.at)
    && (stored.stepId ?? null) === (wanted.stepId ?? null) && (stored.channel ?? null) === (wanted.channel ?? null)
    && canonical(stored.detail ?? {}) === canonical(wanted.detail ?? {});
}

/** JSON with sorted keys: jsonb does not keep the order the workflow wrote. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([left], [right]) => left.localeCompare(right)))
      : inner,
  );
}

/** The run row follows the newest execution, and within it the newest event. */
async function upsertRun(client: pg.PoolClient, batch: ProjectionBatch): Promise<void> {
  const { state, kind } = batch.run;
  const last = batch.events.at(-1);
  if (!last) return;
  await client.query(
    `INSERT INTO runs (run_id, kind, definition_name, service, requested_by, status, current_step, started_at, finished_at, state, last_seq, execution, last_event_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     ON CONFLICT (run_id) DO UPDATE SET kind = EXCLUDED.kind, definition_name = EXCLUDED.definition_name, service = EXCLUDED.service,
       requested_by = EXCLUDED.requested_by, status = EXCLUDED.status, current_step = EXCLUDED.current_step,
       started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at, state = EXCLUDED.state, last_seq = EXCLUDED.last_seq,
       execution = EXCLUDED.execution, last_event_at = EXCLUDED.last_event_at, updated_at = now()
     WHERE (runs.execution = EXCLUDED.execution AND runs.last_seq < EXCLUDED.last_seq)
        OR (runs.execution <> EXCLUDED.execution AND (runs.last_event_at IS NULL OR runs.last_event_at <= EXCLUDED.last_event_at))`,
    [state.runId, kind, state.runbook, state.service, state.requestedBy, state.status, state.currentStep ?? null,
      state.startedAt, state.finishedAt ?? null, JSON.stringify(state), last.seq, batch.execution, last.at],
  );
}
