import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunState } from '../../workflows/definitions.ts';
import { golive, startForeground, type Foreground } from '../support/cli.ts';
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
  await rm(home, { recursive: true, force: true });
});

describe('golive dev and the run commands, as a user types them', () => {
  it('starts the embedded stack and prints every address', async () => {
    dev = await startForeground(['dev'], 'golive dev is up', { env });
    for (const part of ['Temporal ', 'Temporal UI', 'Postgres ', 'golive HTTP', 'worker ']) expect(dev.output()).toContain(part);
    expect(JSON.parse(await readFile(join(home, 'stack.json'), 'utf8'))).toMatchObject({ temporalAddress: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
  });

  it('runs a runbook through its gate with four-eyes, and reports each refusal with exit 1', async () => {
    const started = await run('run', join(home, 'gate.yaml'), '--as', 'rita', '--detach', '--json');
    expect(started.code).toBe(0);
    runId = (JSON.parse(started.stdout) as { runId: string }).runId;
    await until(async () => ((await status(runId)).status === 'waiting-approval' ? true : undefined), 30_000, 'the run never reached its gate');

    const own = await run('approve', runId, '--as', 'rita');
    expect(own.code).toBe(1);
    expect(own.stderr).toContain(`four-eyes: rita requested run ${runId} and cannot approve its gate approve`);
    const approved = await run('approve', runId, '--as', 'ivan', '--comment', 'go', '--json');
    expect(approved.code).toBe(0);
    expect(JSON.parse(approved.stdout)).toMatchObject({ runId, control: 'approve', actor: 'ivan' });
    await until(async () => ((await status(runId)).status === 'succeeded' ? true : undefined), 30_000, 'the run never finished');

    const again = await run('approve', runId, '--as', 'ivan');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`gate approve of run ${runId} was already approved by ivan`);
    const timeline = JSON.parse((await run('timeline', runId, '--json')).stdout) as { action: string; actor: string }[];
    expect(timeline.filter((event) => event.action.startsWith('approval.'))).toMatchObject([
      { action: 'approval.requested', actor: 'golive' },
      { action: 'approval.approved', actor: 'ivan' },
    ]);
    const text = await run('status', runId);
    expect(text.stdout).toMatch(/approve\s+approval\s+succeeded\s+\S+\s+by ivan: go/);
  });

  it('names what is wrong for an unknown run and a bad flag', async () => {
    const unknown = await run('status', 'no-such-run');
    expect([unknown.code, unknown.stderr.trim()]).toEqual([1, 'golive: no run no-such-run: list runs with `golive runs`']);
    const badLimit = await run('runs', '--limit', 'many');
    expect([badLimit.code, badLimit.stderr.trim()]).toEqual([1, 'golive: --limit takes a whole number of at least 1']);
  });

  it('stops cleanly on Ctrl-C and keeps the runs for the next start', async () => {
    expect(await dev!.interrupt()).toBe(0);
    expect(dev!.output()).toContain('golive dev: stopped');
    expect(existsSync(join(home, 'stack.json'))).toBe(false);
    expect(existsSync(join(home, 'temporal.pid'))).toBe(false);
    const withoutStack = await run('runs');
    expect(withoutStack.stderr).toContain('start the embedded stack with `golive dev`');

    dev = await startForeground(['dev'], 'golive dev is up', { env });
    const runs = JSON.parse((await run('runs', '--json')).stdout) as { runId: string; status: string }[];
    expect(runs).toContainEqual(expect.objectContaining({ runId, status: 'succeeded' }));
    const { temporalAddress } = JSON.parse(await readFile(join(home, 'stack.json'), 'utf8')) as { temporalAddress: string };
    const connection = await Connection.connect({ address: temporalAddress });
    const description = await new Client({ connection }).workflow.getHandle(runId).describe();
    await connection.close();
    expect(description.status.name).toBe('COMPLETED');
    expect(await dev.interrupt()).toBe(0);
    dev = undefined;
  });
});
