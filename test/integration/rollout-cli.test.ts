import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpServer } from '../../server/http.ts';
import type { FlagStore } from '../../store/flags.ts';
import { createPgIdentityStore } from '../../store/identity.ts';
import { golive } from '../support/cli.ts';
import { uniqueId } from '../support/db.ts';
import { createEngineHarness, shellEnv, type EngineHarness } from '../support/engine.ts';
import { until } from '../support/poll.ts';
import { startRolloutServer, startRolloutWorker } from '../support/rollout.ts';

/**
 * `golive rollout` as a release manager uses it: against the stack (trusted operator, --as) and through
 * a golive server (GOLIVE_URL, the token's user), with the real rollout workflow on built-in flags.
 */
const ROLES = 'rita=release-manager,rob=release-manager,adam=approver,ivan=incident-commander';
const STATUS_KEYS = ['flag', 'guards', 'nextPhaseAt', 'percent', 'phase', 'plan', 'runId', 'service', 'status', 'steps'];
let harness: EngineHarness;
let flags: FlagStore;
let folder: string;
let server: HttpServer;
let env: NodeJS.ProcessEnv;
let remoteEnv: NodeJS.ProcessEnv;
const quickFlag = uniqueId('quick-flag');

const cli = (...args: string[]) => golive(args, { env, cwd: folder });
const remote = (...args: string[]) => golive(args, { env: remoteEnv, cwd: folder });

/** `rollout status RUN --json` once `ready` holds for it. */
function statusWhen(run: (...args: string[]) => ReturnType<typeof cli>, runId: string, ready: (status: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  return until(async () => {
    const answer = await run('rollout', 'status', runId, '--json');
    const status = answer.code === 0 ? (JSON.parse(answer.stdout) as Record<string, unknown>) : undefined;
    return status && ready(status) ? status : undefined;
  }, 45_000, `rollout ${runId} never reached the expected status`, 250);
}

beforeAll(async () => {
  harness = await createEngineHarness('rollout_cli');
  ({ flags } = await startRolloutWorker(harness));
  folder = await mkdtemp(join(tmpdir(), 'golive-rollout-cli-'));
  const [rollouts, checklists] = [join(folder, 'rollouts'), join(folder, 'checklists')];
  await Promise.all([mkdir(rollouts), mkdir(checklists)]);
  await writeFile(join(rollouts, 'quick.yaml'), `apiVersion: golive/v1
kind: RolloutPlan
metadata: { name: quick-rollout, service: checkout }
spec:
  flag: { key: ${quickFlag} }
  phases:
    - { percent: 10, bake: 2s }
    - { percent: 50, bake: 2s }
    - { percent: 100, bake: 2s, approval: { approvers: [release-manager], timeout: 5m } }
`);
  await writeFile(join(folder, 'gated.yaml'), `apiVersion: golive/v1
kind: RolloutPlan
metadata: { name: gated-rollout, service: checkout }
spec:
  checklist: go-live
  flag: { key: gated }
  phases: [{ percent: 100, bake: 2s }]
`);
  await writeFile(join(checklists, 'go-live.yaml'), 'apiVersion: golive/v1\nkind: Checklist\nmetadata: { name: go-live }\nspec: {}\n');
  env = shellEnv(harness, folder, { GOLIVE_ROLES: ROLES, GOLIVE_ROLLOUTS_DIR: rollouts, GOLIVE_CHECKLISTS_DIR: checklists });

  const identity = createPgIdentityStore(harness.pool);
  const token = (await identity.createToken({ user: 'rob' }, { name: 'test-setup', channel: 'cli' })).token;
  server = await startRolloutServer(harness, identity, { runbooksDir: folder, rolloutsDir: rollouts, checklistsDir: checklists });
  remoteEnv = { PATH: process.env.PATH ?? '', HOME: folder, GOLIVE_HOME: join(folder, '.golive-remote'), GOLIVE_URL: server.url, GOLIVE_TOKEN: token };
});

afterAll(async () => {
  await server?.close();
  await harness?.close();
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe('golive rollout on the stack', () => {
  it('refuses a non-release-manager, says what to type for a missing or doubled plan, and starts nothing', async () => {
    const refused = await cli('rollout', 'start', 'quick-rollout', '--as', 'adam', '--json');
    expect(refused.code).toBe(2);
    expect(JSON.parse(refused.stdout).error).toEqual({
      code: 'forbidden',
      message: 'adam cannot start a rollout: only a release manager may (adam holds approver); grant with `golive roles grant adam release-manager`',
    });
    const mistakes: Array<[string[], string]> = [
      [[], 'say what to roll out: `golive rollout start PLAN_FILE_OR_NAME`, or ad hoc `golive rollout start --flag KEY --service NAME`'],
      [['quick-rollout', '--flag', 'f'], 'give a plan or --flag, not both'],
      [['quick-rollout', '--bake', '1h'], '--bake applies to an ad-hoc rollout (--flag); plan quick-rollout says its own'],
      [['--flag', 'f'], '--flag needs --service NAME'],
      [['--flag', 'f', '--service', 'checkout', '--phases', '50,10'], '--phases 50,10: phases must raise the percentage; the last phase must reach 100'],
      [['--flag', 'f', '--service', 'checkout', '--phases', '10,50'], '--phases 10,50: the last phase must reach 100'],
      [['no-such-plan'], `no rollout plan named no-such-plan in ${join(folder, 'rollouts')} (known: quick-rollout)`],
    ];
    for (const [args, message] of mistakes) {
      const answer = await cli('rollout', 'start', ...args, '--as', 'rita');
      expect([answer.code, answer.stderr]).toEqual([2, expect.stringContaining(message)]);
    }
    const gated = await cli('rollout', 'start', 'gated.yaml', '--as', 'rita');
    expect(gated.code).toBe(2);
    expect(gated.stderr).toContain(`rollout plan gated-rollout is gated by checklist go-live, and ${join(folder, 'checklists', 'go-live.yaml')} is not a valid checklist`);
    expect(gated.stderr).toContain(`golive validate ${join(folder, 'checklists', 'go-live.yaml')}`);
    expect(JSON.parse((await cli('rollout', 'list', '--json')).stdout)).toEqual({ rollouts: [] });
  }, 90_000);

  it('starts a plan by name, waits for a second release manager at 50%, and prints where it stands', async () => {
    const started = await cli('rollout', 'start', 'quick-rollout', '--as', 'rita', '--comment', 'checkout v2', '--detach');
    expect([started.code, started.stderr]).toEqual([0, expect.stringContaining('started rollout')]);
    const runId = started.stdout.trim();
    expect((await cli('wait', runId, '--for', 'gate')).code).toBe(0);

    const waiting = JSON.parse((await cli('rollout', 'status', runId, '--json')).stdout);
    expect(Object.keys(waiting).sort()).toEqual(STATUS_KEYS);
    expect(waiting).toMatchObject({ runId, plan: 'quick-rollout', service: 'checkout', flag: quickFlag, status: 'waiting-approval', percent: 50, nextPhaseAt: null, guards: [] });
    const text = (await cli('rollout', 'status', runId)).stdout;
    expect(text).toContain(`rollout ${runId}: WAITING-APPROVAL  (service checkout, plan quick-rollout)`);
    expect(text).toContain(`flag ${quickFlag} (builtin, production) at 50%`);
    expect(text).toContain(`waiting for an approval: \`golive rollout approve ${runId}\``);

    const own = await cli('rollout', 'approve', runId, '--as', 'rita');
    expect([own.code, own.stderr]).toEqual([2, expect.stringContaining('four-eyes')]);
    expect((await cli('rollout', 'approve', runId, '--as', 'rob', '--comment', '50% held up')).code).toBe(0);
    expect((await cli('wait', runId, '--for', 'end')).code).toBe(0);

    const done = JSON.parse((await cli('rollout', 'status', runId, '--json')).stdout);
    expect(done).toMatchObject({ status: 'succeeded', percent: 100, phase: 3, nextPhaseAt: null });
    const finalText = (await cli('rollout', 'status', runId)).stdout;
    expect(finalText).toContain(`rollout ${runId}: SUCCEEDED`);
    expect(finalText).toMatch(/^3\s+100%\s+2s\s+baked\s+.*\brob$/m);
    expect((await flags.read(quickFlag, 'production'))?.percent).toBe(100);
  }, 90_000);

  it('runs an ad-hoc rollout that its requester promotes and then aborts back to 0', async () => {
    const flag = uniqueId('adhoc-flag');
    const started = await cli('rollout', 'start', '--flag', flag, '--service', 'checkout', '--bake', '1h', '--as', 'rita', '--detach');
    expect(started.code).toBe(0);
    const runId = started.stdout.trim();
    const baking = await statusWhen(cli, runId, (status) => status.status === 'baking' && status.percent === 10);
    expect(baking).toMatchObject({ plan: flag, flag, phase: 1, nextPhaseAt: expect.any(String) });

    const promoted = await cli('rollout', 'promote', runId, '--as', 'rita');
    expect([promoted.code, promoted.stdout]).toEqual([0, expect.stringContaining('ended early')]);
    await statusWhen(cli, runId, (status) => status.status === 'baking' && status.percent === 50);
    expect((await cli('rollout', 'abort', runId, '--as', 'rita', '--comment', 'enough for today')).code).toBe(0);
    expect(await statusWhen(cli, runId, (status) => status.status === 'aborted')).toMatchObject({ percent: 0 });
    expect((await flags.read(flag, 'production'))?.percent).toBe(0);

    const listed = JSON.parse((await cli('rollout', 'list', '--service', 'checkout', '--json')).stdout);
    expect(listed.rollouts.map((record: { plan: string; status: string }) => [record.plan, record.status])).toEqual([[flag, 'aborted'], ['quick-rollout', 'succeeded']]);
    expect((await cli('rollout', 'list')).stdout).toMatch(new RegExp(`^${runId}\\s+checkout\\s+${flag}\\s+aborted\\s+2/3\\s+0%`, 'm'));
  }, 90_000);

  it('answers an unknown rollout with a not-found error naming the list command', async () => {
    const unknown = await cli('rollout', 'status', 'quick-rollout-20990101-0000-beef');
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining('no rollout quick-rollout-20990101-0000-beef: list them with `golive rollout list`')]);
  });
});

describe('golive rollout through GOLIVE_URL', () => {
  it("starts an ad-hoc rollout as the token's user, reads its status, and aborts it", async () => {
    const flag = uniqueId('remote-flag');
    const asSomeone = await remote('rollout', 'start', '--flag', flag, '--service', 'checkout', '--as', 'rita');
    expect([asSomeone.code, asSomeone.stderr]).toEqual([2, expect.stringContaining('--as does not apply with GOLIVE_URL')]);
    const guarded = await remote('rollout', 'start', '--flag', flag, '--service', 'checkout', '--prometheus', 'http://127.0.0.1:9', '--guard', 'errors:rate(x[5m])<1');
    expect([guarded.code, guarded.stderr]).toEqual([2, expect.stringContaining('--guard and --prometheus work on the local stack only')]);

    const started = await remote('rollout', 'start', '--flag', flag, '--service', 'checkout', '--bake', '1h', '--detach');
    expect([started.code, started.stderr]).toEqual([0, expect.stringContaining(`on ${server.url}`)]);
    const runId = started.stdout.trim();
    const baking = await statusWhen(remote, runId, (status) => status.status === 'baking');
    expect(Object.keys(baking).sort()).toEqual(STATUS_KEYS);
    expect(baking).toMatchObject({ runId, flag, percent: 10 });
    expect((await remote('rollout', 'abort', runId)).code).toBe(0);
    expect(await statusWhen(remote, runId, (status) => status.status === 'aborted')).toMatchObject({ percent: 0 });
    const record = JSON.parse((await remote('rollout', 'list', '--service', 'checkout', '--limit', '1', '--json')).stdout).rollouts[0];
    expect(record).toMatchObject({ runId, requestedBy: 'rob', status: 'aborted' });
  }, 90_000);
});
