import { z } from 'zod';

/**
 * What golive writes next to every backup in its store, and reads back before trusting it.
 * The manifest is written last: a backup without one is incomplete and never restored.
 */
export const MANIFEST_FORMAT = 'golive-backup/v1';

const timestamp = z.iso.datetime({ offset: true });

export const TableFingerprint = z.strictObject({
  schema: z.string(),
  name: z.string(),
  /** Exact row count in the backup's snapshot. */
  rows: z.number().int().min(0),
  /** md5 over the first `sampleRows` rows in a stable order (primary key, else the whole row). */
  sample: z.strictObject({ rows: z.number().int().min(0), md5: z.string() }),
});
export type TableFingerprint = z.output<typeof TableFingerprint>;

export const BackupManifest = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  backupId: z.string().min(1),
  service: z.string().min(1),
  /** The source database's name and the runbook target it was reached through. */
  database: z.string().min(1),
  source: z.string().min(1),
  /** The run that took the backup. */
  runId: z.string().min(1),
  startedAt: timestamp,
  finishedAt: timestamp,
  /** When the dump's snapshot was taken: no transaction committed after this is in the backup. */
  snapshotAt: timestamp,
  /** Store key of the dump, relative to the store's root. */
  dumpKey: z.string().min(1),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  serverVersion: z.string(),
  sampleRows: z.number().int().min(0),
  tables: z.array(TableFingerprint),
  /** The newest heartbeat in the snapshot, when the source has golive's heartbeat table. */
  newestHeartbeat: timestamp.optional(),
});
export type BackupManifest = z.output<typeof BackupManifest>;

/** A backup as drills and posture see it: the manifest plus where it lives. */
export interface BackupEntry {
  manifest: BackupManifest;
  /** Human-readable store location, like s3://bucket/prefix/orders/ID.dump or /var/backups/orders/ID.dump. */
  location: string;
}

/** `541.3 KB`, `1.2 GB`: a backup's size as people read it (binary units). */
export function formatBytes(count: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = count;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${count} B` : `${value.toFixed(1)} ${units[unit]}`;
}
