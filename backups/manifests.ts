import { Readable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/common';
import { BackupManifest, type BackupEntry } from '../definitions/backup-manifest.ts';
import { backupKeys, MANIFEST_SUFFIX } from './keys.ts';
import type { BackupStore } from './store.ts';
import { businessFailure } from '../definitions/failures.ts';

const MANIFESTS_READ_AT_ONCE = 8;

/** Writes the manifest next to its dump; written last, it is what makes a backup complete. */
export async function writeManifest(store: BackupStore, manifest: BackupManifest): Promise<void> {
  const { manifest: key } = backupKeys(manifest.service, manifest.backupId);
  await store.write(key, Readable.from([Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`)]));
}

async function readText(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

async function readManifestKey(store: BackupStore, key: string, expected?: { service: string; backupId: string }): Promise<BackupManifest> {
  const where = store.location(key);
  const text = await readText(await store.read(key));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw businessFailure(`cannot use backup manifest ${where}: it is not JSON (${error instanceof Error ? error.message : String(error)})`, 'ManifestInvalid');
  }
  const parsed = BackupManifest.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw businessFailure(`cannot use backup manifest ${where}: ${problems.join('; ')}`, 'ManifestInvalid');
  }
  const manifest = parsed.data;
  if (expected && (manifest.service !== expected.service || manifest.backupId !== expected.backupId)) {
    throw businessFailure(
      `cannot use backup manifest ${where}: it describes backup ${manifest.backupId} of ${manifest.service}, not ${expected.backupId} of ${expected.service}`,
      'ManifestInvalid',
    );
  }
  return manifest;
}

/** The manifest of one backup; a missing one means the backup never finished or was pruned. */
export async function readManifest(store: BackupStore, service: string, backupId: string): Promise<BackupManifest> {
  const found = await findManifest(store, service, backupId);
  if (found) return found;
  const { manifest } = backupKeys(service, backupId);
  throw businessFailure(
    `no backup ${backupId} of ${service} in ${store.location(manifest)}: its manifest is missing (the backup never finished, or was pruned)`,
    'BackupMissing',
  );
}

/** The manifest of one backup, or undefined when there is none. */
export async function findManifest(store: BackupStore, service: string, backupId: string): Promise<BackupManifest | undefined> {
  const { manifest } = backupKeys(service, backupId);
  try {
    return await readManifestKey(store, manifest, { service, backupId });
  } catch (error) {
    if (error instanceof ApplicationFailure && error.type === 'BackupMissing') return undefined;
    throw error;
  }
}

/** A backup as posture and drills see it: its manifest and where its dump lives. */
export function backupEntry(store: BackupStore, manifest: BackupManifest): BackupEntry {
  return { manifest, location: store.location(manifest.dumpKey) };
}

/** A manifest deleted between listing and reading (a prune ran meanwhile) is skipped. */
function skipPruned(error: unknown): undefined {
  if (error instanceof ApplicationFailure && error.type === 'BackupMissing') return undefined;
  throw error;
}

/**
 * The complete backups of a service, newest snapshot first. A dump without a manifest is an
 * unfinished backup and is not listed; a manifest that does not parse fails the listing.
 */
export async function listManifests(store: BackupStore, service: string): Promise<BackupEntry[]> {
  const keys = (await store.list(`${service}/`)).filter((key) => key.endsWith(MANIFEST_SUFFIX));
  const manifests: BackupManifest[] = [];
  for (let start = 0; start < keys.length; start += MANIFESTS_READ_AT_ONCE) {
    const batch = keys.slice(start, start + MANIFESTS_READ_AT_ONCE);
    const read = await Promise.all(batch.map((key) => readManifestKey(store, key).catch(skipPruned)));
    manifests.push(...read.filter((manifest) => manifest !== undefined));
  }
  return manifests
    .filter((manifest) => manifest.service === service)
    .sort((left, right) => Date.parse(right.snapshotAt) - Date.parse(left.snapshotAt) || right.backupId.localeCompare(left.backupId))
    .map((manifest) => backupEntry(store, manifest));
}
