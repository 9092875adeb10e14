#!/usr/bin/env node
// Compiles the `golive` command to JavaScript in dist/, so it starts without compiling TypeScript.
// Usage: node scripts/build.mjs [--if-stale]   (--if-stale: skip when dist/ is newer than every source)
//
// One ESM bundle with code splitting: each command's modules load only when that command runs.
// dist/ is flat and one level below the project root, like every source folder, so paths built
// from `new URL('../x', import.meta.url)` (runbooks, migrations, the workflow sources the worker
// bundles) resolve to the same files from the bundle as from the sources.
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const defaultRoot = fileURLToPath(new URL('..', import.meta.url));
const SOURCES = ['activities', 'backups', 'cli', 'config', 'definitions', 'runtime', 'server', 'slack', 'stack', 'store', 'workflows', 'package.json'];
/** Loaded from node_modules at run time: native code, the workflow bundler, optional drivers. */
const EXTERNAL = ['@temporalio/worker', '@temporalio/core-bridge', '@temporalio/testing', '@swc/*', 'webpack', 'pg-native', 'dockerode'];

/** The newest modification time under the source folders (ms). */
function newestSource(path, names = SOURCES) {
  let newest = 0;
  for (const name of names) {
    const full = join(path, name);
    if (!existsSync(full)) continue;
    const stat = statSync(full);
    newest = Math.max(newest, stat.isDirectory() ? newestSource(full, readdirSync(full)) : stat.mtimeMs);
  }
  return newest;
}

/** Builds dist/ unless `ifStale` and it is newer than every source; returns what it did. */
export async function build({ root = defaultRoot, ifStale = false } = {}) {
  const outdir = join(root, 'dist');
  const stamp = join(outdir, '.built');
  if (ifStale && existsSync(stamp) && statSync(stamp).mtimeMs >= newestSource(root)) return { built: false, outdir };
  const { build: esbuild } = await import('esbuild');
  const started = performance.now();
  rmSync(outdir, { recursive: true, force: true });
  const result = await esbuild({
    entryPoints: { golive: join(root, 'cli/main.ts') },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.mjs' },
    chunkNames: '[name]-[hash]',
    external: EXTERNAL,
    // Bundled CommonJS packages call require() for Node's own modules.
    banner: { js: "import { createRequire as __golive_require } from 'node:module'; const require = __golive_require(import.meta.url);" },
    minify: true,
    sourcemap: 'linked',
    logLevel: 'warning',
    metafile: true,
  });
  // What each chunk holds, for `npx esbuild --analyze`-style questions about start-up cost.
  writeFileSync(join(outdir, 'meta.json'), JSON.stringify(result.metafile));
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
  return { built: true, outdir, ms: Math.round(performance.now() - started) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await build({ ifStale: process.argv.includes('--if-stale') });
  console.log(result.built ? `built ${relative(defaultRoot, result.outdir)}/ in ${result.ms} ms` : `${relative(defaultRoot, result.outdir)}/ is up to date`);
}
