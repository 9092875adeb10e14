import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunState } from '../../workflows/definitions.ts';
import { golive, startForeground, type Foreground } from '../support/cli.ts';
import { createTestDatabase, uniqueId } from '../support/db.ts';
import { until } from '../support/poll.ts';

const RUNBOOK = `apiVersion: golive/v1
kind: Runbook
metadata: { name: cli-gate, service: orders }
spec:
  strategy: warm-standby
  objectives: { rpo: 1m, rto: 30m }
  steps:
    - { id: before, action: noop }
    - id: approve
      approval: { approvers: [incident-commander], timeout: 10m }
    - { id: after, action: noop }
`;

let home: string;
let env: NodeJS.ProcessEnv;
let dev: Foreground | undefined;
let runId: string;

const run = (...args: string[]) => golive(args, { env });
const status = async (id: string) => JSON.parse((await run('status', id, '--json')).stdout) as RunState;
/** Lines a person reads: none of them a JSON log entry. */
const jsonLines = (text: string) => text.split('\n').filter((line) => line.trimStart().startsWith('{'));
/** The entries of golive dev's structured log, GOLIVE_HOME/logs/dev-YYYYMMDD.jsonl. */
async function devLog(): Promise<{ level: number; msg: string }[]> {
  const files = (await readdir(join(home, 'logs'))).filter((name) => /^dev-\d{8}\.jsonl$/.test(name));
  const texts = await Promise.all(files.map((name) => readFile(join(home, 'logs', name), 'utf8')));
  return texts.flatMap((text) => text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as { level: number; msg: string }));
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'golive-home-'));
  await chmod(home, 0o755);
  await writeFile(join(home, 'gate.yaml'), RUNBOOK);
  env = { ...process.env, GOLIVE_HOME: home, GOLIVE_HTTP_PORT: '0', GOLIVE_LOG_LEVEL: 'warn', GOLIVE_ROLES: 'rita=release-manager,ivan=incident-commander' };
  delete env.TEMPORAL_ADDRESS;
  delete env.DATABASE_URL;
});

afterAll(async () => {
  await dev?.interrupt();
  await run('dev', '--stop');
  await rm(home, { recursive: true, force: true });
});

describe('golive dev and the run commands, as a user types them', () => {
  it('starts the embedded stack and prints every address and where its logs go, in words only', async () => {
    dev = await startForeground(['dev'], 'golive dev is up', { env });
    for (const part of ['Temporal ', 'Temporal UI', 'Postgres ', 'golive HTTP', 'worker ']) expect(dev.output()).toContain(part);
    expect(dev.output()).toMatch(new RegExp(`\n {2}logs {9}${home}/logs/dev-\\d{8}\\.jsonl \\(level warn\\)\n`));
    expect(jsonLines(dev.output())).toEqual([]);
    expect(JSON.parse(await readFile(join(home, 'stack.json'), 'utf8'))).toMatchObject({ temporalAddress: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
  });

  it('runs a runbook through its gate with four-eyes, and reports each refusal with exit 2', async () => {
    const started = await run('run', join(home, 'gate.yaml'), '--as', 'rita', '--detach', '--json');
    expect(started.code).toBe(0);
    runId = (JSON.parse(started.stdout) as { runId: string }).runId;
    await until(async () => ((await status(runId)).status === 'waiting-approval' ? true : undefined), 30_000, 'the run never reached its gate');

    const own = await run('approve', runId, '--as', 'rita');
    expect(own.code).toBe(2);
    expect(own.stderr).toContain(`four-eyes: rita requested run ${runId} and cannot approve its gate approve`);
    const approved = await run('approve', runId, '--as', 'ivan', '--comment', 'go', '--json');
    expect(approved.code).toBe(0);
    expect(JSON.parse(approved.stdout)).toMatchObject({ runId, control: 'approve', actor: 'ivan' });
    await until(async () => ((await status(runId)).status === 'succeeded' ? true : undefined), 30_000, 'the run never finished');

    const again = await run('approve', runId, '--as', 'ivan');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`gate approve of run ${runId} was already approved by ivan`);
    const { events } = JSON.parse((await run('timeline', runId, '--json')).stdout) as { events: { action: string; actor: string }[] };
    expect(events.filter((event) => event.action.startsWith('approval.'))).toMatchObject([
      { action: 'approval.requested', actor: 'golive' },
      { action: 'approval.approved', actor: 'ivan' },
    ]);
    const text = await run('status', runId);
    expect(text.stdout).toMatch(/approve\s+approval\s+succeeded\s+\S+\s+by ivan: go/);
  });

  it('follows a foreground run step by step, and at its gate says who may decide, until when and what to type; status and the API say the same', async () => {
    const follower = await startForeground(['run', join(home, 'gate.yaml'), '--as', 'rita'], 'approve:    golive approve', { env });
    const exited = new Promise<number | null>((resolve) => follower.child.once('exit', (code) => resolve(code)));
    const followed = /started run (\S+) of cli-gate as rita/.exec(follower.output())?.[1] ?? '';
    expect(follower.output()).toMatch(/\d\d:\d\d:\d\dZ {2}before {2}succeeded in \d/);
    expect(follower.output()).toContain('waiting at approval gate approve since');
    expect(follower.output()).toContain('  may decide: anyone holding incident-commander, except rita (who requested the run)');
    expect(follower.output()).toMatch(/ {2}deadline: {3}\S+ \S+Z \(in (9|10)m\d*s?\); without a decision the run rolls back/);
    expect(follower.output()).toContain(`  approve:    golive approve ${followed} --comment "why"`);

    const state = await status(followed);
    expect(state.gate).toMatchObject({ stepId: 'approve', approvers: ['incident-commander'] });
    expect(Date.parse(state.gate!.deadline) - Date.parse(state.gate!.since)).toBe(600_000);
    expect((await run('status', followed)).stdout).toContain('waiting at approval gate approve');
    const token = (await run('token', 'create', '--user', 'ivan')).stdout.trim();
    const { httpUrl } = JSON.parse(await readFile(join(home, 'stack.json'), 'utf8')) as { httpUrl: string };
    const api = await fetch(`${httpUrl}/api/runs/${followed}`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await api.json()) as RunState).gate).toEqual(state.gate);

    const refused = await run('approve', followed, '--as', 'rita', '--json');
    expect([refused.code, refused.stderr, JSON.parse(refused.stdout)]).toEqual([2, '', { error: { code: 'forbidden', message: expect.stringContaining('four-eyes: rita requested run') } }]);
    expect((await run('approve', followed, '--as', 'ivan')).code).toBe(0);
    expect(await exited).toBe(0);
    expect(follower.output()).toMatch(/approve {2}succeeded in \S+ by ivan/);
    expect(follower.output()).toMatch(/after {2}succeeded/);
    expect((await status(followed)).gate).toBeUndefined();
  });

  it('names what is wrong for an unknown run and a bad flag', async () => {
    const unknown = await run('status', 'no-such-run');
    expect([unknown.code, unknown.stderr.trim()]).toEqual([2, 'golive: no run no-such-run: list runs with `golive runs`']);
    const badLimit = await run('runs', '--limit', 'many');
    expect([badLimit.code, badLimit.stderr]).toEqual([2, expect.stringMatching(/--limit.*'many'.* whole number of at least 1/)]);
  });

  it('stops cleanly on Ctrl-C and keeps the runs for the next start', async () => {
    expect(await dev!.interrupt()).toBe(0);
    expect(dev!.output()).toContain('golive dev: stopped');
    expect(existsSync(join(home, 'stack.json'))).toBe(false);
    expect(existsSync(join(home, 'temporal.pid'))).toBe(false);
    const withoutStack = await run('runs');
    expect(withoutStack.stderr).toContain('start the embedded stack with `golive dev`');

    dev = await startForeground(['dev'], 'golive dev is up', { env });
    const { runs } = JSON.parse((await run('runs', '--json')).stdout) as { runs: { runId: string; status: string }[] };
    expect(runs).toContainEqual(expect.objectContaining({ runId, status: 'succeeded' }));
    const { temporalAddress } = JSON.parse(await readFile(join(home, 'stack.json'), 'utf8')) as { temporalAddress: string };
    const connection = await Connection.connect({ address: temporalAddress });
    const description = await new Client({ connection }).workflow.getHandle(runId).describe();
    await connection.close();
    expect(description.status.name).toBe('COMPLETED');
    expect(await dev.interrupt()).toBe(0);
    expect(jsonLines(dev.output())).toEqual([]);
    dev = undefined;
  });
});

describe('golive dev --detach and --stop', () => {
  it('--stop says so when no golive dev runs, and exits 0', async () => {
    expect(await run('dev', '--stop')).toEqual({ code: 0, stdout: 'golive dev is not running in this folder\n', stderr: '' });
  });

  it('--detach fails with the end of the output when golive dev stops before it is up', async () => {
    const broken = await golive(['dev', '--detach'], { env: { ...env, TEMPORAL_CLI: join(home, 'no-temporal') } });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`golive: golive dev stopped (exit 1) before it was up; ${home}/logs/dev.log ends with:\n`);
    expect(broken.stderr).toContain('  golive: temporal is not installed for golive');
    expect(existsSync(join(home, 'stack.json'))).toBe(false);
  });

  it('--detach returns once the stack is up, with its addresses; the webpack report goes to the log file at debug only', async () => {
    const debug = { ...env, GOLIVE_LOG_LEVEL: 'debug' };
    const detached = await golive(['dev', '--detach'], { env: debug, timeoutMs: 200_000 });
    expect(detached.code, detached.stderr).toBe(0);
    for (const part of ['golive dev is up in the background', 'Temporal ', 'Temporal UI', 'Postgres ', 'golive HTTP', 'worker ', `logs         ${home}/logs/dev-`, `output       ${home}/logs/dev.log`]) {
      expect(detached.stdout).toContain(part);
    }
    const { pid } = JSON.parse(await readFile(join(home, 'stack.json'), 'utf8')) as { pid: number };
    expect(() => process.kill(pid, 0)).not.toThrow();
    expect((await run('runs')).code).toBe(0);

    const again = await run('dev', '--detach');
    expect([again.code, again.stderr]).toEqual([2, `golive: golive dev already runs in this folder (pid ${pid}); use that one, or stop it with \`golive dev --stop\` first\n`]);

    const terminal = await readFile(join(home, 'logs', 'dev.log'), 'utf8');
    expect(terminal).toContain('golive dev is up');
    expect(jsonLines(terminal)).toEqual([]);
    expect(terminal).not.toContain('webpack');
    const webpack = (await devLog()).filter((entry) => /^webpack \S+ compiled/m.test(entry.msg));
    expect(webpack.map((entry) => entry.level)).toEqual([20]);

    const stopped = await run('dev', '--stop');
    expect([stopped.code, stopped.stdout]).toEqual([0, `golive dev (pid ${pid}) stopped; state kept for the next start\n`]);
    expect(existsSync(join(home, 'stack.json'))).toBe(false);
    expect(await readFile(join(home, 'logs', 'dev.log'), 'utf8')).toContain('golive dev: stopped');
  }, 240_000);
});

it('`golive worker` keeps writing JSON lines on stdout, for log shippers', async () => {
  const database = await createTestDatabase('worker_logs');
  const workerEnv = { ...env, TEMPORAL_ADDRESS: inject('temporalAddress'), DATABASE_URL: database.url, GOLIVE_TASK_QUEUE: uniqueId('worker-logs'), GOLIVE_LOG_LEVEL: 'info' };
  const worker = await startForeground(['worker'], '"msg":"worker running"', { env: workerEnv });
  expect(await worker.interrupt()).toBe(0);
  await database.drop();
  const lines = worker.output().split('\n').filter((line) => line !== '');
  expect(lines.length).toBeGreaterThan(1);
  for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
});
