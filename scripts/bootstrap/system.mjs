// System tools that come from the OS package manager (Debian apt on these machines).
import { isRoot, runQuietly, which } from './exec.mjs';

const SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/opt/homebrew/bin', '/usr/local/bin'];

/**
 * System tools beyond Postgres: the executable to look for and the Debian package that has it.
 * Tests need them all; `run` marks those the demo needs too (nginx is the edge of its failover,
 * Prometheus feeds the guards of its go-live rollout).
 */
export const SYSTEM_TOOLS = {
  nginx: { bin: 'nginx', apt: 'nginx', run: true },
  prometheus: { bin: 'prometheus', apt: 'prometheus', run: true },
  dockerCompose: { bin: 'docker-compose', apt: 'docker-compose' },
};

export function findSystemTool(tool) {
  return which(tool.bin, SBIN_DIRS);
}

/**
 * One `apt-get update` and one `apt-get install` for every missing package. Returns null on
 * success, else a message that names the packages and how to install them by hand.
 */
export function aptInstall(packages) {
  const byHand = `install them and run the bootstrap again: sudo apt-get install -y ${packages.join(' ')}`;
  if (!isRoot) return `missing system packages ${packages.join(', ')} (not root, so not installing them); ${byHand}`;
  if (!which('apt-get')) return `missing system packages ${packages.join(', ')} and apt-get is not available; install their equivalents with your package manager`;
  console.log(`bootstrap: apt-get install ${packages.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const updated = runQuietly('apt-get', ['update', '-qq'], { env });
  if (updated.status !== 0) return `\`apt-get update\` failed (${updated.error}); ${byHand}`;
  const installed = runQuietly('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { env });
  if (installed.status !== 0) return `\`apt-get install ${packages.join(' ')}\` failed (${installed.error})`;
  return null;
}
