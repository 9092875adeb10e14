// Keeps node_modules in step with package-lock.json: `npm ci` only when the lock changed.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BootstrapError, run } from './exec.mjs';

const STAMP = '.golive-lock-hash';

/** Installs the npm packages when node_modules is missing or was installed from another lock. */
export function ensureNodeModules(root) {
  const lockPath = join(root, 'package-lock.json');
  if (!existsSync(lockPath)) throw new BootstrapError(`cannot install npm packages: ${lockPath} is missing`);
  const lockText = readFileSync(lockPath, 'utf8');
  const hash = createHash('sha256').update(lockText).digest('hex');
  const modules = join(root, 'node_modules');
  const stampPath = join(modules, STAMP);
  const tool = { name: 'npm packages', version: `lock ${hash.slice(0, 12)}`, path: modules };
  if (readStamp(stampPath) === hash) return { ...tool, how: 'found' };
  if (installedTreeMatches(lockText, modules)) {
    writeFileSync(stampPath, `${hash}\n`);
    return { ...tool, how: 'found (matches package-lock.json)' };
  }
  const result = run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root });
  if (result.status !== 0) throw new BootstrapError(`cannot install npm packages: \`npm ci\` failed (${result.error})`);
  writeFileSync(stampPath, `${hash}\n`);
  return { ...tool, how: 'installed (npm ci)' };
}

function readStamp(stampPath) {
  return existsSync(stampPath) ? readFileSync(stampPath, 'utf8').trim() : null;
}

/**
 * True when npm's own record of the installed tree (node_modules/.package-lock.json) has every
 * package of the lock at the same version and integrity, so a tree installed before the stamp
 * existed is not wiped and reinstalled. Optional packages for other platforms may be absent.
 */
function installedTreeMatches(lockText, modules) {
  const hiddenPath = join(modules, '.package-lock.json');
  if (!existsSync(hiddenPath)) return false;
  let wanted, installed;
  try {
    wanted = JSON.parse(lockText).packages ?? {};
    installed = JSON.parse(readFileSync(hiddenPath, 'utf8')).packages ?? {};
  } catch {
    return false;
  }
  const samePackage = (key) => installed[key].version === wanted[key]?.version && installed[key].integrity === wanted[key]?.integrity;
  const present = (key) => key === '' || key in installed || wanted[key].optional === true;
  return Object.keys(installed).every(samePackage) && Object.keys(wanted).every(present);
}
