import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TargetOf } from '../definitions/targets.ts';
import type { Environment } from '../definitions/targets.ts';
import { businessFailure, rethrow } from '../definitions/failures.ts';
import { checkKey } from './keys.ts';
import { openS3Store } from './s3.ts';

/**
 * Where backups live: a folder or an S3 prefix. Keys are relative to the store's root, like
 * `orders/2024-05-01T1200Z.dump`. A written object is visible only once it is complete.
 */
export interface BackupStore {
  /** Human-readable place of a key: /var/backups/orders/ID.dump or s3://bucket/prefix/orders/ID.dump. */
  location(key: string): string;
  /** Stores `body` under `key`; nothing is visible under `key` unless the whole body arrived. */
  write(key: string, body: Readable): Promise<void>;
  /** The object's bytes; a missing key is a business failure of type BackupMissing. */
  read(key: string): Promise<Readable>;
  /** Keys that start with `prefix`, in no particular order. */
  list(prefix: string): Promise<string[]>;
  /** Deletes the keys; keys already gone are fine. */
  remove(keys: string[]): Promise<void>;
  /** Releases the store's connections; call it when done with the store. */
  close(): void;
}

/** A resolved filesystem or s3 target (ResolvedTarget of either type). */
export interface StoreTarget {
  name: string;
  spec: TargetOf<'filesystem' | 's3'>;
}

export function openBackupStore(target: StoreTarget, env: Environment): BackupStore {
  const { spec } = target;
  return spec.type === 's3' ? openS3Store(target.name, spec, env) : openFilesystemStore(target.name, spec.path);
}

/** Opens the store, runs `work`, and closes it however `work` ends. */
export async function withBackupStore<T>(target: StoreTarget, env: Environment, work: (store: BackupStore) => Promise<T>): Promise<T> {
  const store = openBackupStore(target, env);
  try {
    return await work(store);
  } finally {
    store.close();
  }
}

const isMissing = (error: unknown) => error instanceof Error && 'code' in error && error.code === 'ENOENT';

function openFilesystemStore(name: string, path: string): BackupStore {
  const root = resolve(path);
  const fileOf = (key: string) => {
    const file = resolve(root, checkKey(key));
    if (!file.startsWith(root + sep)) throw businessFailure(`backup store key "${key}" leaves ${root}`, 'InvalidInput');
    return file;
  };
  const context = (action: string, key: string) => `cannot ${action} ${fileOf(key)} in backup store ${name}`;
  return {
    location: (key) => fileOf(key),
    async write(key, body) {
      const file = fileOf(key);
      try {
        await mkdir(dirname(file), { recursive: true });
        await writeAtomically(file, body);
      } catch (error) {
        rethrow(error, context('write', key), 'StoreFailed');
      }
    },
    async read(key) {
      const file = fileOf(key);
      try {
        await stat(file);
      } catch (error) {
        if (isMissing(error)) throw businessFailure(`${context('read', key)}: it does not exist`, 'BackupMissing');
        rethrow(error, context('read', key), 'StoreFailed');
      }
      return createReadStream(file, { highWaterMark: 1024 * 1024 });
    },
    async list(prefix) {
      const slash = prefix.lastIndexOf('/');
      const folder = prefix.slice(0, slash + 1);
      const start = prefix.slice(slash + 1);
      let entries: string[];
      try {
        const found = await readdir(folder === '' ? root : fileOf(folder.slice(0, -1)), { withFileTypes: true });
        entries = found.filter((entry) => entry.isFile() && !entry.name.startsWith('.')).map((entry) => entry.name);
      } catch (error) {
        if (isMissing(error)) return [];
        return rethrow(error, `cannot list ${join(root, prefix)} in backup store ${name}`, 'StoreFailed');
      }
      return entries.filter((entry) => entry.startsWith(start)).map((entry) => `${folder}${entry}`);
    },
    async remove(keys) {
      try {
        await Promise.all(keys.map((key) => rm(fileOf(key), { force: true })));
      } catch (error) {
        rethrow(error, `cannot delete ${keys.length} files in backup store ${name}`, 'StoreFailed');
      }
    },
    close() {},
  };
}

/** Writes to a hidden temporary file, syncs it to disk, then renames it into place. */
async function writeAtomically(file: string, body: Readable): Promise<void> {
  const partial = join(dirname(file), `.${basename(file)}.${randomUUID().slice(0, 8)}.partial`);
  try {
    await pipeline(body, createWriteStream(partial, { highWaterMark: 1024 * 1024 }));
    await syncPath(partial, 'r+');
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  await rename(partial, file);
  await syncPath(dirname(file), 'r');
}

async function syncPath(path: string, flags: 'r' | 'r+'): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
