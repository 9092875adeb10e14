import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { golive } from '../support/cli.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Command {
  line: string;
  /** What the README says it exits with: `# exits N` in its comment, else 0. */
  expected: number;
}

/** The shell commands of the README's "The first hour", in order, each with the exit code the README implies. */
function firstHourCommands(readme: string): Command[] {
  const section = readme.split(/^## /m).find((part) => part.startsWith('The first hour'));
  if (!section) throw new Error('README has no "The first hour" section');
  const blocks = [...section.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((match) => match[1]!);
  return blocks.flatMap((block) => block.split('\n')).filter((line) => line.trim() !== '').map((line) => {
    const exits = /#.*\bexits (\d)/.exec(line);
    return { line: line.replace(/\s+#.*$/, ''), expected: exits ? Number(exits[1]) : 0 };
  });
}

/** Every command in one bash session (variables carry over), each followed by a marker line with its exit code. */
function script(commands: Command[]): string {
  return commands.map((command, index) => `{ ${command.line} ; } ; echo "::exit ${index} $?"`).join('\n');
}

let home: string;
let bin: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'golive-readme-'));
  await chmod(home, 0o755);
  // `golive` on PATH as `npm link` puts it there, without touching the machine's global npm folder.
  bin = join(home, 'bin');
  await mkdir(bin);
  await symlink(join(ROOT, 'bin/golive.mjs'), join(bin, 'golive'));
  env = { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`, GOLIVE_HOME: join(home, 'golive'), GOLIVE_HTTP_PORT: '0', GOLIVE_LOG_LEVEL: 'warn' };
  for (const name of ['TEMPORAL_ADDRESS', 'DATABASE_URL', 'GOLIVE_URL', 'GOLIVE_TOKEN', 'GOLIVE_ROLES', 'GOLIVE_USER']) delete env[name];
});

afterAll(async () => {
  await golive(['dev', '--stop'], { env, cwd: ROOT });
  await rm(home, { recursive: true, force: true });
});

describe("the README's first hour, on a fresh embedded stack", () => {
  it('finds the walk-through and what each command should exit with', async () => {
    const commands = firstHourCommands(await readFile(join(ROOT, 'README.md'), 'utf8'));
    expect(commands[0]).toEqual({ line: 'npm run demo', expected: 0 });
    expect(commands.filter((command) => command.expected === 2).length).toBeGreaterThan(0);
  });

  it('runs every command in order, each exiting as the README says', async () => {
    const commands = firstHourCommands(await readFile(join(ROOT, 'README.md'), 'utf8'));
    const result = spawnSync('bash', ['-c', script(commands)], { cwd: ROOT, env, encoding: 'utf8', timeout: 540_000, maxBuffer: 64 * 1024 * 1024 });
    const exits = new Map([...result.stdout.matchAll(/^::exit (\d+) (\d+)$/gm)].map((match) => [Number(match[1]), Number(match[2])]));
    const outcome = commands.map((command, index) => `${command.line} => ${exits.get(index) ?? 'not run'}`);
    const wanted = commands.map((command) => `${command.line} => ${command.expected}`);
    expect(outcome, `${result.stdout}\n${result.stderr}`).toEqual(wanted);
    expect(result.stdout).toMatch(/waiting at approval gate approve-restore/);
    expect(result.stdout).toMatch(/golive approve \S+ --comment/);
  }, 600_000);
});
