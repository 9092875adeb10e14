// Running commands and finding executables, for the bootstrap (plain Node, no npm packages).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** A problem the user must fix; the bootstrap prints its message and exits non-zero. */
export class BootstrapError extends Error {
  name = 'BootstrapError';
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs a command with its output shown to the user; returns its exit status. */
export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
  if (result.error) return { status: null, error: result.error.message };
  return { status: result.status, error: result.status === 0 ? null : `exit status ${result.status}` };
}

/** Runs a long command without showing its chatter; on failure the error holds its last lines. */
export function runQuietly(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.error) return { status: null, error: result.error.message };
  if (result.status === 0) return { status: 0, error: null };
  const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-15).join('\n    ');
  return { status: result.status, error: `exit status ${result.status}:\n    ${tail}` };
}

/** Runs a command and returns what it printed; ok is false when it could not start or failed. */
export function capture(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000, ...options });
  return { ok: !result.error && result.status === 0, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

export function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The first executable called `name` on PATH, then in `extraDirs` (e.g. /usr/sbin for a non-root PATH). */
export function which(name, extraDirs = []) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...extraDirs].filter(Boolean);
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}
