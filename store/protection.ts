import type pg from 'pg';
import type { BackupEntry, BackupManifest } from '../definitions/backup-manifest.ts';
import type { DrillRecord, FailoverRecord } from '../workflows/definitions.ts';
import { lastFailoverDrills } from './failovers.ts';

/** Where a drill's result was announced. */
export interface DrillNotice {
  channel: 'slack' | 'log';
  /** The Slack message's timestamp (its id in the channel). */
  ts?: string;
}

/** Where backup actions record what they wrote and deleted, for posture and audit. Idempotent. */
export interface BackupCatalog {
  recorded(entry: BackupEntry): Promise<void>;
  pruned(service: string, backupIds: string[]): Promise<void>;
}

export interface DrillFilter {
  service?: string;
  limit: number;
}

/** A service's newest drill, and its newest passed drill (the same one when the newest passed). */
export interface ServiceDrills {
  service: string;
  latest: DrillRecord;
  lastPassed?: DrillRecord;
}

/** golive's record of backups and drills: what backup actions and drill workflows wrote, for posture and history. */
export interface ProtectionStore extends BackupCatalog {
  /** Stores a finished drill; idempotent by run id: a retry writes nothing new. */
  recordDrill(record: DrillRecord, client?: pg.ClientBase): Promise<void>;
  /** Drills newest first, by when they finished. */
  listDrills(filter: DrillFilter): Promise<DrillRecord[]>;
  getDrill(runId: string): Promise<DrillRecord | undefined>;
  /** Where a drill's result was announced, once the announcement landed. */
  notice(runId: string): Promise<DrillNotice | undefined>;
  /** Keeps where a recorded drill's result was announced; the first notice kept wins. */
  noticed(runId: string, notice: DrillNotice): Promise<void>;
  /** Each service's newest backup that has not been pruned. */
  lastBackups(): Promise<BackupEntry[]>;
  lastDrills(): Promise<ServiceDrills[]>;
  /** Each service's newest failover drill (golive's failovers table), for posture. */
  lastFailoverDrills(): Promise<FailoverRecord[]>;
}

const NO_TABLES = '42P01';

/** A notice for a drill golive has no row for: retrying cannot fix it. */
export class DrillNotRecorded extends Error {
  override name = 'DrillNotRecorded';
}

/** A database golive has not migrated yet gets a message that says what to do. */
async function guarded<T>(action: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === NO_TABLES) {
      throw new Error(`cannot ${action}: golive's database has no backup and drill tables yet; start \`golive server\` or \`golive worker\` once to apply its migrations`, { cause: error });
    }
    throw error;
  }
}

export function createPgProtectionStore(pool: pg.Pool): ProtectionStore {
  return {
    async recorded({ manifest, location }) {
      await guarded(`record backup ${manifest.backupId}`, () =>
        pool.query(
          `INSERT INTO backups (backup_id, service, database, location, snapshot_at, finished_at, bytes, sha256, manifest)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (service, backup_id) DO UPDATE SET database = EXCLUDED.database, location = EXCLUDED.location,
             snapshot_at = EXCLUDED.snapshot_at, finished_at = EXCLUDED.finished_at, bytes = EXCLUDED.bytes,
             sha256 = EXCLUDED.sha256, manifest = EXCLUDED.manifest, recorded_at = now(), pruned_at = NULL`,
          [manifest.backupId, manifest.service, manifest.database, location, manifest.snapshotAt, manifest.finishedAt, manifest.bytes, manifest.sha256, JSON.stringify(manifest)],
        ),
      );
    },

    async pruned(service, backupIds) {
      if (backupIds.length === 0) return;
      await guarded(`record pruned backups of ${service}`, () =>
        pool.query('UPDATE backups SET pruned_at = now() WHERE service = $1 AND backup_id = ANY($2::text[]) AND pruned_at IS NULL', [service, backupIds]),
      );
    },

    async recordDrill(record, client) {
      await guarded(`record drill ${record.runId}`, () =>
        (client ?? pool).query(
          `INSERT INTO drills (run_id, service, runbook, strategy, trigger, requested_by, status, reason, declared_at, recovered_at,
             finished_at, backup_id, rpo_ms, rto_ms, rpo_objective_ms, rto_objective_ms, rpo_source, record)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
           ON CONFLICT (run_id) DO NOTHING`,
          [record.runId, record.service, record.runbook, record.strategy, record.trigger, record.requestedBy, record.status,
            record.reason ?? null, record.declaredAt, record.recoveredAt ?? null, record.finishedAt, record.backup?.backupId ?? null,
            record.measured.rpoMs ?? null, record.measured.rtoMs ?? null, record.objectives.rpoMs, record.objectives.rtoMs,
            record.measured.rpoSource ?? null, JSON.stringify(record)],
        ),
      );
    },

    async listDrills({ service, limit }) {
      const { rows } = await guarded('list drills', () =>
        pool.query<{ record: DrillRecord }>(
          `SELECT record FROM drills WHERE ($1::text IS NULL OR service = $1)
           ORDER BY finished_at DESC, run_id DESC LIMIT $2`,
          [service ?? null, limit],
        ),
      );
      return rows.map((row) => row.record);
    },

    async getDrill(runId) {
      const { rows } = await guarded(`read drill ${runId}`, () =>
        pool.query<{ record: DrillRecord }>('SELECT record FROM drills WHERE run_id = $1', [runId]),
      );
      return rows[0]?.record;
    },

    async notice(runId) {
      const { rows } = await guarded(`read where drill ${runId} was announced`, () =>
        pool.query<{ notice: DrillNotice | null }>('SELECT notice FROM drills WHERE run_id = $1', [runId]),
      );
      return rows[0]?.notice ?? undefined;
    },

    async noticed(runId, notice) {
      const action = `record where drill ${runId} was announced`;
      const { rows } = await guarded(action, () =>
        pool.query<{ recorded: boolean }>(
          `WITH kept AS (UPDATE drills SET notice = $2, notified_at = now() WHERE run_id = $1 AND notice IS NULL RETURNING run_id)
           SELECT EXISTS (SELECT 1 FROM kept) OR EXISTS (SELECT 1 FROM drills WHERE run_id = $1) AS recorded`,
          [runId, JSON.stringify(notice)],
        ),
      );
      if (rows[0]?.recorded !== true) throw new DrillNotRecorded(`cannot ${action}: no drill ${runId} is recorded`);
    },

    async lastBackups() {
      const { rows } = await guarded('read the newest backups', () =>
        pool.query<{ manifest: BackupManifest; location: string }>(
          `SELECT DISTINCT ON (service) manifest, location FROM backups WHERE pruned_at IS NULL
           ORDER BY service, snapshot_at DESC, finished_at DESC, backup_id DESC`,
        ),
      );
      return rows.map((row) => ({ manifest: row.manifest, location: row.location }));
    },

    async lastDrills() {
      const { rows } = await guarded('read the newest drills', () =>
        pool.query<{ service: string; latest: DrillRecord; last_passed: DrillRecord | null }>(
          `SELECT latest.service, latest.record AS latest, passed.record AS last_passed
           FROM (SELECT DISTINCT ON (service) service, record FROM drills ORDER BY service, finished_at DESC, run_id DESC) latest
           LEFT JOIN (SELECT DISTINCT ON (service) service, record FROM drills WHERE status = 'passed'
                      ORDER BY service, finished_at DESC, run_id DESC) passed USING (service)
           ORDER BY latest.service`,
        ),
      );
      return rows.map((row) => ({ service: row.service, latest: row.latest, lastPassed: row.last_passed ?? undefined }));
    },

    lastFailoverDrills: () => lastFailoverDrills(pool),
  };
}
