import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let scratch: string;
/** Only node and npm: the machine's own folders may hold a golive linked from another checkout. */
let tools: string;

/** The bootstrap's PATH step, as `npm run bootstrap` runs it, with npm's global folder in `prefix`. */
function link(prefix: string, path: string[]): { path: string; how: string } {
  const env = { ...process.env, npm_config_prefix: prefix, PATH: [...path, tools].join(delimiter) };
  const script = "const m = await import('./scripts/bootstrap/command.mjs'); console.log(JSON.stringify(m.linkCommand(process.cwd())));";
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, env, encoding: 'utf8' })) as { path: string; how: string };
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'golive-link-'));
  tools = join(scratch, 'tools');
  await mkdir(tools);
  await symlink(process.execPath, join(tools, 'node'));
  const npm = execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim();
  await symlink(await realpath(npm), join(tools, 'npm'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('the bootstrap puts golive on PATH', () => {
  it('links this checkout with npm link when no golive is on PATH, then finds it there', async () => {
    const prefix = join(scratch, 'npm');
    const bin = join(prefix, 'bin');
    expect(link(prefix, [bin])).toEqual({ name: 'golive on PATH', version: '-', path: join(bin, 'golive'), how: 'linked (npm link)' });
    expect(execFileSync(join(bin, 'golive'), ['--version', '--json'], { encoding: 'utf8', env: { ...process.env, PATH: tools, GOLIVE_HOME: join(scratch, 'home') } }))
      .toContain('"golive": "0.');
    expect(link(prefix, [bin]).how).toBe('found');
  });

  it("leaves another checkout's golive alone and says how to switch", async () => {
    const other = join(scratch, 'other', 'bin');
    await mkdir(other, { recursive: true });
    await writeFile(join(other, 'golive'), '#!/bin/sh\necho other\n');
    await chmod(join(other, 'golive'), 0o755);
    const answer = link(join(scratch, 'unused'), [other]);
    expect(answer.how).toBe(`another checkout's golive (${join(other, 'golive')}); \`npm link\` here to switch`);
  });
});
