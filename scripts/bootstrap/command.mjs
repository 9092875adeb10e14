// The `golive` command: compiled to dist/ and, for `npm run bootstrap`, put on PATH with `npm link`.
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { BootstrapError, capture, runQuietly, which } from './exec.mjs';

/** Builds dist/ when a source changed since the last build (scripts/build.mjs). */
export async function buildCommand(root) {
  const { build } = await import('../build.mjs');
  const result = await build({ root, ifStale: true }).catch((error) => {
    throw new BootstrapError(`cannot build the golive command (scripts/build.mjs): ${error.message.split('\n')[0]}`);
  });
  return { name: 'golive build', version: '-', path: join(root, 'dist'), how: result.built ? `built (${result.ms} ms)` : 'up to date' };
}

const resolvesTo = (path) => {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
};

/**
 * Makes `golive` a command: nothing when PATH's golive already is this checkout's, else `npm link`.
 * A golive of another checkout is left alone; a failed link is reported with what to do, not fatal.
 */
export function linkCommand(root) {
  const bin = join(root, 'bin', 'golive.mjs');
  const found = which('golive');
  const row = { name: 'golive on PATH', version: '-', path: found ?? '-' };
  if (found && resolvesTo(found) === resolvesTo(bin)) return { ...row, how: 'found' };
  if (found) return { ...row, how: `another checkout's golive (${resolvesTo(found)}); \`npm link\` here to switch` };
  const linked = runQuietly('npm', ['link', '--no-audit', '--no-fund'], { cwd: root });
  const now = which('golive');
  if (linked.status === 0 && now) return { ...row, path: now, how: 'linked (npm link)' };
  const prefix = capture('npm', ['prefix', '-g']);
  const where = prefix.ok ? `${prefix.stdout.trim()}/bin` : "npm's global bin folder";
  return { ...row, how: `not linked: \`npm link\` ${linked.status === 0 ? `put it in ${where}, which is not on PATH` : 'failed'}; use \`npx golive\`, or alias golive="node ${bin}"` };
}
