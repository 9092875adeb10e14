import { createHash } from 'node:crypto';
import { z } from 'zod';
import { MANIFEST_FORMAT, type BackupEntry } from '../../definitions/backup-manifest.ts';
import { durationMs } from '../../definitions/duration.ts';
import { backupKeys } from '../../backups/keys.ts';
import { backupEntry, findManifest, listManifests, readManifest, writeManifest } from '../../backups/manifests.ts';
import { takeSnapshotBackup } from './snapshot.ts';
import { withBackupStore } from '../../backups/store.ts';
import { referencedStore, stepStore } from './targets.ts';
import { stepTarget, type ActionCall } from '../call.ts';
import { heartbeat, previousAttempt, withHeartbeats } from '../context.ts';
import { businessFailure, rethrow } from '../../definitions/failures.ts';
import type { ActionDeps } from '../types.ts';

/** What a backup step returns; it goes into workflow history, so it stays small. */
function summary({ manifest, location }: BackupEntry) {
  const { backupId, bytes, sha256, snapshotAt, startedAt, finishedAt } = manifest;
  const rows = manifest.tables.reduce((total, table) => total + table.rows, 0);
  return { backupId, location, bytes, sha256, snapshotAt, startedAt, finishedAt, tables: manifest.tables.length, rows };
}

/**
 * Streams pg_dump -Fc of the target database into the store, then writes the manifest. A retry
 * of a step whose manifest is already written returns that backup without dumping again; a
 * backup of that ID taken by another run is never reused and fails the step.
 */
export async function createBackup(deps: ActionDeps, call: ActionCall<'backup.create'>) {
  const source = stepTarget(call, 'postgres');
  const { service, backupId, sampleRows } = call.input;
  return withBackupStore(referencedStore(call, call.input.store), call.env, async (store) => {
    let manifest = await findManifest(store, service, backupId);
    if (manifest !== undefined && manifest.runId !== call.request.runId) {
      throw businessFailure(
        `backup ${backupId} of ${service} already exists in ${store.location(manifest.dumpKey)}, taken by run ${manifest.runId}: choose another backupId`,
        'BackupExists',
      );
    }
    if (manifest === undefined) {
      const context = `cannot back up ${source.name} to ${store.location(backupKeys(service, backupId).dump)}`;
      const taken = await withHeartbeats(takeSnapshotBackup({ deps, source, store, service, backupId, sampleRows, context }), { backupId });
      manifest = { format: MANIFEST_FORMAT, ...taken, service, backupId, source: source.name, runId: call.request.runId, sampleRows };
      await writeManifest(store, manifest);
    }
    const entry = backupEntry(store, manifest);
    await deps.backups?.recorded(entry);
    return summary(entry);
  });
}

const PrunedBefore = z.object({ deleted: z.array(z.string()) });

/**
 * Deletes backups beyond the retention policy: past the newest `keep`, or older than `maxAge`
 * (by snapshot time). The newest backup always stays. Manifests go first, so an interrupted
 * prune leaves unfinished-looking dumps, never a manifest without its dump.
 */
export async function pruneBackups(deps: ActionDeps, call: ActionCall<'backup.prune'>) {
  const { service, keep, maxAge } = call.input;
  const maxAgeMs = maxAge === undefined ? undefined : durationMs(maxAge);
  return withBackupStore(stepStore(call), call.env, async (store) => {
    const entries = await listManifests(store, service);
    const now = Date.now();
    const doomed = entries.filter((entry, index) => {
      if (index === 0) return false;
      const tooMany = keep !== undefined && index >= keep;
      const tooOld = maxAgeMs !== undefined && now - Date.parse(entry.manifest.snapshotAt) > maxAgeMs;
      return tooMany || tooOld;
    });
    const earlier = previousAttempt(PrunedBefore)?.deleted ?? [];
    const ids = doomed.map((entry) => entry.manifest.backupId);
    const deleted = [...new Set([...earlier, ...ids])];
    heartbeat({ deleted });
    await store.remove(doomed.map((entry) => backupKeys(service, entry.manifest.backupId).manifest));
    await store.remove(doomed.map((entry) => entry.manifest.dumpKey));
    if (deleted.length > 0) await deps.backups?.pruned(service, deleted);
    return { deleted, kept: entries.length - ids.length };
  });
}

/** The newest complete backup of a service. */
export async function latestBackup(call: ActionCall<'backup.latest'>) {
  const { service } = call.input;
  return withBackupStore(stepStore(call), call.env, async (store) => {
    const [newest] = await listManifests(store, service);
    if (newest === undefined) {
      throw businessFailure(`no backup of ${service} in ${store.location(service)}: run \`golive backup run RUNBOOK\``, 'NoBackup');
    }
    const { backupId, snapshotAt, finishedAt, bytes, sha256 } = newest.manifest;
    return { backupId, location: newest.location, snapshotAt, finishedAt, bytes, sha256 };
  });
}

/** Reads the dump back from the store and checks its size and sha256 against the manifest. */
export async function verifyChecksum(call: ActionCall<'backup.verify-checksum'>) {
  const { service, backupId } = call.input;
  return withBackupStore(stepStore(call), call.env, async (store) => {
    const manifest = await readManifest(store, service, backupId);
    const location = store.location(manifest.dumpKey);
    const hash = createHash('sha256');
    let bytes = 0;
    const reading = (async () => {
      for await (const chunk of await store.read(manifest.dumpKey)) {
        const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
        hash.update(data);
        bytes += data.length;
      }
    })();
    try {
      await withHeartbeats(reading, { backupId });
    } catch (error) {
      rethrow(error, `cannot read backup ${backupId} of ${service} from ${location}`, 'StoreFailed');
    }
    const sha256 = hash.digest('hex');
    if (sha256 !== manifest.sha256 || bytes !== manifest.bytes) {
      throw businessFailure(
        `backup ${backupId} of ${service} at ${location} is corrupt: it has sha256 ${sha256.slice(0, 12)}… and ${bytes} bytes, ` +
          `its manifest says sha256 ${manifest.sha256.slice(0, 12)}… and ${manifest.bytes} bytes`,
        'ChecksumMismatch',
      );
    }
    return { backupId, bytes, sha256 };
  });
}
