import { businessFailure } from '../definitions/failures.ts';

/** Refuses keys that could leave the store's root or hide among temporary files. */
export function checkKey(key: string): string {
  const parts = key.split('/');
  if (key.startsWith('/') || parts.some((part) => part === '' || part === '.' || part === '..' || part.startsWith('.'))) {
    throw businessFailure(`backup store key "${key}" is not a plain relative path`, 'InvalidInput');
  }
  return key;
}

/** Store layout: `<service>/<backupId>.dump` and `<service>/<backupId>.manifest.json`. */
export const MANIFEST_SUFFIX = '.manifest.json';
export const DUMP_SUFFIX = '.dump';

export function backupKeys(service: string, backupId: string): { dump: string; manifest: string } {
  if (backupId.includes('/') || backupId.startsWith('.')) {
    throw businessFailure(`backup id "${backupId}" of ${service} cannot name a store file: it must not contain "/" or start with "."`, 'InvalidInput');
  }
  return { dump: checkKey(`${service}/${backupId}${DUMP_SUFFIX}`), manifest: checkKey(`${service}/${backupId}${MANIFEST_SUFFIX}`) };
}
