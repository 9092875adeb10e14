// Finds PostgreSQL server binaries (initdb, pg_ctl) of version 15 or newer.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BootstrapError, capture, isExecutable, which } from './exec.mjs';

export const MIN_PG_MAJOR = 15;

/**
 * The Postgres bin folder to use: $GOLIVE_PG_BIN when set (it also wins at run time), else the
 * highest version ≥ 15 among Debian's /usr/lib/postgresql/N/bin and Homebrew's postgresql@N, else
 * what `pg_config --bindir` or `initdb` on PATH point at. Returns null when none is found.
 * `versionOf(pgBin)` gives the full version text (cached by the caller).
 */
export function findPostgres(versionOf) {
  const fromEnv = process.env.GOLIVE_PG_BIN;
  if (fromEnv) return checkedEnvBin(fromEnv, versionOf);
  for (const bin of versionedBins()) {
    const major = majorOf(versionOf(bin));
    if (major !== null && major >= MIN_PG_MAJOR) return { bin, major, how: 'found' };
  }
  for (const bin of pathBins()) {
    const major = majorOf(versionOf(bin));
    if (major !== null && major >= MIN_PG_MAJOR) return { bin, major, how: 'found (PATH)' };
  }
  return null;
}

function checkedEnvBin(bin, versionOf) {
  if (!hasServerBinaries(bin)) {
    throw new BootstrapError(`cannot use GOLIVE_PG_BIN=${bin}: it has no initdb and pg_ctl (point it at the Postgres server bin folder)`);
  }
  const major = majorOf(versionOf(bin));
  if (major === null || major < MIN_PG_MAJOR) {
    throw new BootstrapError(`cannot use GOLIVE_PG_BIN=${bin}: Postgres ${major ?? 'of unknown version'} is older than ${MIN_PG_MAJOR}`);
  }
  return { bin, major, how: 'found (GOLIVE_PG_BIN)' };
}

/** Debian and Homebrew folders, highest version first. */
function versionedBins() {
  const candidates = [
    ...listVersioned('/usr/lib/postgresql', /^(\d+)$/, (name) => join('/usr/lib/postgresql', name, 'bin')),
    ...listVersioned('/opt/homebrew/opt', /^postgresql@(\d+)$/, (name) => join('/opt/homebrew/opt', name, 'bin')),
    ...listVersioned('/usr/local/opt', /^postgresql@(\d+)$/, (name) => join('/usr/local/opt', name, 'bin')),
  ];
  return candidates
    .filter((candidate) => candidate.major >= MIN_PG_MAJOR && hasServerBinaries(candidate.bin))
    .sort((left, right) => right.major - left.major)
    .map((candidate) => candidate.bin);
}

function listVersioned(parent, pattern, binOf) {
  if (!existsSync(parent)) return [];
  return readdirSync(parent).flatMap((name) => {
    const match = pattern.exec(name);
    return match ? [{ major: Number(match[1]), bin: binOf(name) }] : [];
  });
}

function pathBins() {
  const bins = [];
  const pgConfig = which('pg_config');
  if (pgConfig) {
    const result = capture(pgConfig, ['--bindir']);
    if (result.ok) bins.push(result.stdout.trim());
  }
  const initdb = which('initdb');
  if (initdb) bins.push(dirname(initdb));
  return bins.filter(hasServerBinaries);
}

export function hasServerBinaries(bin) {
  return isExecutable(join(bin, 'initdb')) && isExecutable(join(bin, 'pg_ctl'));
}

/** "pg_ctl (PostgreSQL) 15.18 (Debian …)" → 15 */
function majorOf(versionText) {
  const match = /^(\d+)/.exec(versionText ?? '');
  return match ? Number(match[1]) : null;
}
