import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ownVariable } from '../definitions/target-env.ts';
import { UserError } from './errors.ts';

/**
 * GOLIVE_HOME/demo.env: the variables `golive demo` sets for its sample database, kept after the
 * demo ends so its runbooks still resolve their targets. KEY=value lines, mode 0600, written by
 * golive; `#` lines and blank lines are ignored. Every golive command adds the keys its
 * environment does not set (loadConfig calls addDemoEnv): the environment always wins. The file
 * holds only variables targets may name, never golive's own (DATABASE_URL, GOLIVE_*, …).
 */
export const demoEnvPath = (home: string) => resolve(home, 'demo.env');

/** The sample database `golive dev` keeps a heartbeat writer on when demo.env names it. */
export const DEMO_HEARTBEAT_SOURCE = 'DEMO_ORDERS_URL';

const LINE = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

function parseDemoEnv(text: string, path: string): Record<string, string> {
  const values: Record<string, string> = {};
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const where = `${path}:${index + 1}`;
    const [, key, value] = LINE.exec(line) ?? [];
    if (key === undefined || value === undefined) throw new UserError(`cannot read ${where}: expected KEY=value; fix the line or delete the file (\`golive demo\` writes it again)`);
    const own = ownVariable(key);
    if (own) throw new UserError(`cannot read ${where}: ${key} names golive's own ${own.holds}, which demo.env never sets; remove the line`);
    values[key] = value;
  });
  return values;
}

/** The variables of GOLIVE_HOME/demo.env; none when there is no such file. */
export function readDemoEnv(home: string): Record<string, string> {
  const path = demoEnvPath(home);
  if (!existsSync(path)) return {};
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o022) !== 0) throw new UserError(`cannot trust ${path}: others may write it (mode ${mode.toString(8)}); golive writes it 0600: \`chmod 600\` it or delete it`);
  return parseDemoEnv(readFileSync(path, 'utf8'), path);
}

/** Adds to `env` the variables of GOLIVE_HOME/demo.env it does not set (unset or blank). */
export function addDemoEnv(env: NodeJS.ProcessEnv, home: string): void {
  for (const [key, value] of Object.entries(readDemoEnv(home))) {
    if (!env[key]?.trim()) env[key] = value;
  }
}

/** Replaces GOLIVE_HOME/demo.env with `values`, created with mode 0600 (the URLs may hold passwords). */
export async function writeDemoEnv(home: string, values: Record<string, string>): Promise<string> {
  const path = demoEnvPath(home);
  const lines = Object.entries(values).map(([key, value]) => {
    if (!LINE.test(`${key}=${value}`)) throw new Error(`cannot write ${key} to ${path}: not a KEY=value line`);
    return `${key}=${value}`;
  });
  await mkdir(home, { recursive: true });
  const temporary = join(resolve(home), `.demo.env.${process.pid}`);
  await writeFile(temporary, `# written by \`golive demo\`; golive reads it for keys the environment does not set\n${lines.join('\n')}\n`, { mode: 0o600 });
  await rename(temporary, path);
  return path;
}
