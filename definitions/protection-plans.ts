import { ApplicationFailure } from '@temporalio/common';
import { durationMs, formatDuration } from './duration.ts';
import type { ActionStep, Runbook, Step } from './schema.ts';
import type { BackupPolicy, DrillPolicy } from './protection.ts';

/**
 * Backups and drills are runs of the engine like any runbook: these functions turn a runbook's
 * `spec.backup` / `spec.drill` into the steps of one run. They are pure and run inside the
 * workflow, so a scheduled run gets names from its own run id.
 */

/** The step that declares the disaster: T_d, read on the worker's and the source database's clocks. */
export const DECLARE_STEP = 'declare-disaster';
export const RESTORE_STEP = 'restore-backup';
export const VERIFY_STEP = 'verify-restored-data';
export const HEALTH_STEP = 'health-check';
export const BACKUP_STEPS = { fresh: 'take-backup', existing: 'find-backup' } as const;

/** A store-safe backup id from a run id (schedule-started runs carry a timestamp with colons). */
export function backupIdFor(runId: string): string {
  return runId.replace(/[^A-Za-z0-9._-]+/g, '-');
}

/** The drill's scratch database: lower-case, at most 63 bytes, unique by keeping the run id's tail. */
export function scratchDatabaseFor(runId: string): string {
  const tail = runId.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return `golive_drill_${tail.slice(-50)}`;
}

type StepFields = Pick<ActionStep, 'id' | 'action' | 'with'> & Partial<ActionStep>;

/** An action step with the fields the parser would have filled in. */
function action(fields: StepFields): ActionStep {
  return { kind: 'action', description: undefined, compensates: undefined, target: undefined, timeout: undefined, retries: undefined, assert: [], targetRefs: [], ...fields };
}

/** Fails the run for good: retrying a workflow task cannot add a policy to its pinned runbook. */
function missingPolicy(runbook: Runbook, field: 'backup' | 'drill'): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`runbook ${runbook.metadata.name} has no spec.${field}`, 'InvalidRunbook');
}

function protection(runbook: Runbook): { backup: BackupPolicy; drill?: DrillPolicy } {
  const { backup, drill } = runbook.spec;
  if (!backup) throw missingPolicy(runbook, 'backup');
  return { backup, drill };
}

function takeBackup(runbook: Runbook, backup: BackupPolicy, runId: string): Step {
  return action({
    id: BACKUP_STEPS.fresh,
    description: `pg_dump of ${backup.source} streamed to ${backup.store}`,
    action: 'backup.create',
    target: backup.source,
    with: { store: backup.store, service: runbook.metadata.service, backupId: backupIdFor(runId), sampleRows: backup.sampleRows },
    timeout: '6h',
    retries: 2,
    targetRefs: [backup.store],
  });
}

function withSteps(runbook: Runbook, steps: Step[], rollback: Step[]): Runbook {
  return { ...runbook, spec: { ...runbook.spec, steps, rollback } };
}

/** A backup run: dump to the store, then apply the retention policy. */
export function backupPlan(runbook: Runbook, runId: string): Runbook {
  const { backup } = protection(runbook);
  const steps: Step[] = [takeBackup(runbook, backup, runId)];
  const { keep, maxAge } = backup.retention;
  if (keep !== undefined || maxAge !== undefined) {
    steps.push(action({
      id: 'apply-retention',
      action: 'backup.prune',
      target: backup.store,
      with: { service: runbook.metadata.service, ...(keep === undefined ? {} : { keep }), ...(maxAge === undefined ? {} : { maxAge }) },
    }));
  }
  return withSteps(runbook, steps, []);
}

/**
 * A restore-verification drill: declare the disaster (T_d, with the source database's clock),
 * take the newest backup (or a fresh one, then declare), restore it into a scratch database,
 * poll the health check on the copy (RTO stops: the copy is usable), then check the backup's
 * checksum, verify the copy against the manifest and run the smoke queries; those gate pass or
 * fail but are golive's own checking, not part of RTO. Last, drop the scratch database. On
 * failure or abort the rollback drops the scratch database too (docs/rpo-rto.md).
 */
export function drillPlan(runbook: Runbook, runId: string, options: { freshBackup?: boolean } = {}): Runbook {
  const { backup, drill } = protection(runbook);
  if (!drill) throw missingPolicy(runbook, 'drill');
  const service = runbook.metadata.service;
  const database = scratchDatabaseFor(runId);
  const source = options.freshBackup ? BACKUP_STEPS.fresh : BACKUP_STEPS.existing;
  const backupId = `{{steps.${source}.backupId}}`;
  const onServer = { target: drill.server };
  const fromStore = { store: backup.store, service, backupId, database };
  const declare = action({ id: DECLARE_STEP, description: `T_d: the worker's time and the clock of ${backup.source}`, action: 'drill.declare', target: backup.source, with: {} });
  const obtain: Step[] = options.freshBackup
    ? [takeBackup(runbook, backup, runId), declare]
    : [declare, action({ id: BACKUP_STEPS.existing, action: 'backup.latest', target: backup.store, with: { service } })];
  // Only the database this drill's restore created: a same-named one someone else made stays.
  const dropScratch = (id: string) => action({ ...onServer, id, action: 'postgres.drop-database', with: { database, restoredBy: `${runId}:${RESTORE_STEP}` } });
  const checksum = action({ id: 'verify-checksum', action: 'backup.verify-checksum', target: backup.store, with: { service, backupId }, timeout: '2h' });
  const restore = action({ ...onServer, id: RESTORE_STEP, action: 'backup.restore', with: fromStore, timeout: '6h', targetRefs: [backup.store] });
  const verify = action({ ...onServer, id: VERIFY_STEP, action: 'drill.verify', with: fromStore, timeout: '2h', targetRefs: [backup.store] });
  const smoke = drill.smoke.map((query) => action({
    ...onServer,
    id: `smoke-${query.id}`,
    action: 'postgres.query',
    with: { sql: query.sql, database },
    assert: query.assert === undefined ? [] : [query.assert].flat(),
    retries: 0,
  }));
  const health = action({ ...onServer, id: HEALTH_STEP, action: 'drill.health', with: { database, sql: drill.health.sql, within: drill.health.within }, timeout: formatDuration(durationMs(drill.health.within) + 60_000), retries: 0 });
  return withSteps(runbook, [...obtain, restore, health, checksum, verify, ...smoke, dropScratch('drop-scratch-database')], [dropScratch('drop-scratch-database-after-failure')]);
}
