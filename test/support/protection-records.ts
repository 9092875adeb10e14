import { parseDefinition } from '../../definitions/load.ts';
import { MANIFEST_FORMAT, type BackupEntry } from '../../definitions/backup-manifest.ts';
import { durationMs } from '../../definitions/duration.ts';
import type { Runbook } from '../../definitions/schema.ts';
import type { DrillRecord } from '../../workflows/definitions.ts';

const iso = (at: Date | number) => new Date(at).toISOString();

/** A backup of `service` whose snapshot was taken at `snapshotAt`, finished a minute later. */
export function backupEntry(service: string, backupId: string, snapshotAt: Date | number): BackupEntry {
  const snapshot = new Date(snapshotAt).getTime();
  return {
    location: `s3://golive-backups/${service}/${backupId}.dump`,
    manifest: {
      format: MANIFEST_FORMAT,
      backupId,
      service,
      database: service,
      source: `${service}-db`,
      runId: `${service}-backup-${backupId}`,
      startedAt: iso(snapshot - 1_000),
      finishedAt: iso(snapshot + 60_000),
      snapshotAt: iso(snapshot),
      dumpKey: `${service}/${backupId}.dump`,
      bytes: 4_096,
      sha256: 'a'.repeat(64),
      serverVersion: '17.2',
      sampleRows: 1000,
      tables: [{ schema: 'public', name: 'orders', rows: 3, sample: { rows: 3, md5: 'b'.repeat(32) } }],
    },
  };
}

export interface DrillFields {
  runId: string;
  service: string;
  finishedAt: Date | number;
  status?: 'passed' | 'failed';
  reason?: string;
  rpoMs?: number;
  rtoMs?: number;
  objectives?: { rpo: string; rto: string };
  runbook?: string;
}

/** A drill that declared its disaster 5 minutes before it finished. */
export function drillRecord(fields: DrillFields): DrillRecord {
  const finished = new Date(fields.finishedAt).getTime();
  const objectives = fields.objectives ?? { rpo: '24h', rto: '4h' };
  return {
    runId: fields.runId,
    runbook: fields.runbook ?? `${fields.service}-backup-restore`,
    service: fields.service,
    strategy: 'backup-restore',
    trigger: 'schedule',
    requestedBy: 'golive-scheduler',
    status: fields.status ?? 'passed',
    reason: fields.reason,
    declaredAt: iso(finished - 300_000),
    recoveredAt: iso(finished - 60_000),
    finishedAt: iso(finished),
    backup: { backupId: `${fields.runId}-backup`, location: `s3://golive-backups/${fields.service}/x.dump`, snapshotAt: iso(finished - 7_200_000), bytes: 4_096, sha256: 'a'.repeat(64) },
    objectives: { ...objectives, rpoMs: durationMs(objectives.rpo), rtoMs: durationMs(objectives.rto) },
    measured: { rpoMs: fields.rpoMs ?? 7_500_000, rtoMs: fields.rtoMs ?? 240_000, newestCommit: iso(finished - 7_500_000 - 300_000), rpoSource: 'heartbeat' },
    steps: [{ id: 'restore', status: 'succeeded', durationMs: 180_000 }, { id: 'health', status: 'succeeded', durationMs: 2_000 }],
  };
}

export interface RunbookFields {
  name: string;
  service: string;
  strategy?: string;
  rpo?: string;
  rto?: string;
  /** `false` leaves spec.drill out; a string sets its window. */
  drill?: boolean | string;
}

/** The YAML of a runbook protected by spec.backup (and spec.drill unless drill is false). */
export function protectedRunbookText(fields: RunbookFields): string {
  const drill = fields.drill ?? true;
  return [
    'apiVersion: golive/v1',
    'kind: Runbook',
    `metadata: {name: ${fields.name}, service: ${fields.service}}`,
    'spec:',
    `  strategy: ${fields.strategy ?? 'backup-restore'}`,
    `  objectives: {rpo: ${fields.rpo ?? '24h'}, rto: ${fields.rto ?? '4h'}}`,
    '  targets:',
    '    db: {type: postgres, url: "${DB_URL}"}',
    '    server: {type: postgres, url: "${SERVER_URL}"}',
    '    store: {type: filesystem, path: /var/backups/golive}',
    '  backup: {source: db, store: store}',
    ...(drill === false ? [] : [typeof drill === 'string' ? `  drill: {server: server, window: ${drill}}` : '  drill: {server: server}']),
    '  steps:',
    '    - {id: check, action: postgres.query, target: db, with: {sql: SELECT 1}}',
    '',
  ].join('\n');
}

export function protectedRunbook(fields: RunbookFields): Runbook {
  const result = parseDefinition(protectedRunbookText(fields), `${fields.name}.yaml`);
  if (!result.ok || result.kind !== 'Runbook') throw new Error(`test runbook ${fields.name} is invalid: ${JSON.stringify(result)}`);
  return result.definition;
}
