import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpServer } from '../../server/http.ts';
import type { FlagStore } from '../../store/flags.ts';
import { createPgIdentityStore } from '../../store/identity.ts';
import type { RolloutRecord } from '../../workflows/definitions.ts';
import { callApi, serverRunbook } from '../support/api.ts';
import { uniqueId } from '../support/db.ts';
import { createEngineHarness, type EngineHarness } from '../support/engine.ts';
import { until } from '../support/poll.ts';
import { startRolloutServer, startRolloutWorker } from '../support/rollout.ts';

/**
 * POST /api/rollouts, the rollout records and the rollout controls against a real worker running the
 * rollout workflow on golive's built-in flags. Roles as in ROLLOUT_ROLES: rita and rob release
 * managers, adam approver, ivan incident commander.
 */
let harness: EngineHarness;
let flags: FlagStore;
let folder: string;
let server: HttpServer;
const tokens: Record<string, string> = {};
const quickFlag = uniqueId('quick-flag');

/** 10% and 50% bake 2s each; 100% waits for a release manager, then bakes 2s. */
const quickPlan = `apiVersion: golive/v1
kind: RolloutPlan
metadata: { name: quick-rollout, service: checkout }
spec:
  flag: { key: ${quickFlag} }
  phases:
    - { percent: 10, bake: 2s }
    - { percent: 50, bake: 2s }
    - { percent: 100, bake: 2s, approval: { approvers: [release-manager], timeout: 5m, message: Everyone? } }
`;

const gatedPlan = `apiVersion: golive/v1
kind: RolloutPlan
metadata: { name: gated-rollout, service: checkout }
spec:
  checklist: no-such-checklist
  flag: { key: gated-flag }
  phases: [{ percent: 100, bake: 2s }]
`;

const get = (path: string, as = 'rita') => callApi(server.url, path, { token: tokens[as] ?? '' });
const post = (as: string, path: string, body?: unknown) => callApi(server.url, path, { method: 'POST', token: tokens[as] ?? '', body });

async function started(as: string, body: Record<string, unknown>): Promise<string> {
  const reply = await post(as, '/api/rollouts', body);
  expect([reply.status, reply.error, Object.keys(reply.body)]).toEqual([201, undefined, ['runId']]);
  return String(reply.body.runId);
}

/** The rollout's answer once `ready` holds for its record. */
function rolloutWhen(runId: string, ready: (record: RolloutRecord) => boolean, what: string): Promise<Record<string, unknown> & { record: RolloutRecord }> {
  return until(async () => {
    const reply = await get(`/api/rollouts/${runId}`);
    const record = reply.body.record as RolloutRecord | undefined;
    return reply.status === 200 && record && ready(record) ? { ...reply.body, record } : undefined;
  }, 45_000, `rollout ${runId} never ${what}`, 200);
}

beforeAll(async () => {
  harness = await createEngineHarness('rollout_api');
  ({ flags } = await startRolloutWorker(harness));
  const identity = createPgIdentityStore(harness.pool);
  for (const user of ['rita', 'rob', 'adam', 'ivan']) tokens[user] = (await identity.createToken({ user }, { name: 'test-setup', channel: 'cli' })).token;
  folder = await mkdtemp(join(tmpdir(), 'golive-rollout-api-'));
  await writeFile(join(folder, 'quick-rollout.yaml'), quickPlan);
  await writeFile(join(folder, 'gated-rollout.yaml'), gatedPlan);
  await writeFile(join(folder, 'held-runbook.yaml'), serverRunbook('held-runbook'));
  server = await startRolloutServer(harness, identity, { runbooksDir: folder, rolloutsDir: folder, checklistsDir: folder });
});

afterAll(async () => {
  await server?.close();
  await harness?.close();
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe('POST /api/rollouts', () => {
  it('refuses anyone but a release manager with 403, before it reads any plan', async () => {
    const byAdam = await post('adam', '/api/rollouts', { plan: 'quick-rollout' });
    expect([byAdam.status, byAdam.error]).toEqual([403, {
      code: 'forbidden',
      message: 'adam cannot start a rollout: only a release manager may (adam holds approver); grant with `golive roles grant adam release-manager`',
    }]);
    const unknownPlan = await post('ivan', '/api/rollouts', { plan: 'no-such-plan' });
    expect([unknownPlan.status, unknownPlan.error?.message]).toEqual([403, expect.stringMatching(/^ivan cannot start a rollout: .*\(ivan holds incident-commander\)/)]);
  });

  it('rolls the named plan out phase by phase; a second release manager approves 100%, and the status says where it stands', async () => {
    const runId = await started('rita', { plan: 'quick-rollout', comment: 'checkout v2 for everyone' });
    expect(runId).toMatch(/^quick-rollout-\d{8}-\d{4}-[0-9a-f]{4}$/);
    const waiting = await rolloutWhen(runId, (record) => record.status === 'waiting-approval', 'waited for its approval');
    expect(Object.keys(waiting).sort()).toEqual(['flag', 'guards', 'nextPhaseAt', 'percent', 'phase', 'plan', 'record', 'runId', 'service', 'status', 'steps']);
    expect(waiting).toMatchObject({ runId, plan: 'quick-rollout', service: 'checkout', flag: quickFlag, status: 'waiting-approval', percent: 50, guards: [], nextPhaseAt: null });
    expect((await flags.read(quickFlag, 'production'))?.percent).toBe(50);

    const ownApproval = await post('rita', `/api/rollouts/${runId}/approve`);
    expect([ownApproval.status, ownApproval.error?.message]).toEqual([403, expect.stringContaining('four-eyes')]);
    const approval = await post('rob', `/api/rollouts/${runId}/approve`, { comment: '50% held up' });
    expect([approval.status, approval.body]).toEqual([200, { runId, control: 'approve', actor: 'rob', message: expect.any(String) }]);

    const done = await rolloutWhen(runId, (record) => record.status === 'succeeded', 'succeeded');
    expect(done).toMatchObject({ status: 'succeeded', percent: 100, phase: 3 });
    expect(done.record.phases.map((phase) => [phase.percent, phase.status, phase.approvedBy])).toEqual([[10, 'baked', undefined], [50, 'baked', undefined], [100, 'baked', 'rob']]);
    expect(done.steps).toEqual(done.record.steps);
    expect((await flags.read(quickFlag, 'production'))?.percent).toBe(100);
  });

  it('rolls an ad-hoc flag out; the requester promotes a bake, and an abort takes the flag back to 0', async () => {
    const flag = uniqueId('adhoc-flag');
    const runId = await started('rob', { flag, service: 'checkout', bake: '1h' });
    expect(runId).toMatch(/^adhoc-flag-/);
    const baking = await rolloutWhen(runId, (record) => record.status === 'baking' && record.percent === 10, 'baked at 10%');
    expect(baking).toMatchObject({ phase: 1, nextPhaseAt: expect.any(String) });
    expect(Date.parse(String(baking.nextPhaseAt)) - Date.now()).toBeGreaterThan(50 * 60_000);
    const promoted = await post('rob', `/api/rollouts/${runId}/promote`, { comment: 'looks fine' });
    expect([promoted.status, promoted.error]).toEqual([200, undefined]);
    await rolloutWhen(runId, (record) => record.status === 'baking' && record.percent === 50, 'baked at 50%');
    expect((await flags.read(flag, 'production'))?.percent).toBe(50);

    const aborted = await post('rob', `/api/rollouts/${runId}/abort`, { comment: 'enough for today' });
    expect([aborted.status, aborted.error]).toEqual([200, undefined]);
    const done = await rolloutWhen(runId, (record) => record.status === 'aborted', 'was aborted');
    expect(done).toMatchObject({ status: 'aborted', percent: 0 });
    expect((await flags.read(flag, 'production'))?.percent).toBe(0);
    const late = await post('rob', `/api/rollouts/${runId}/promote`);
    expect([late.status, late.error?.code]).toEqual([409, 'conflict']);
  });

  it('refuses ad-hoc phases that do not rise to 100, a plan and a flag at once, and a body naming neither', async () => {
    const falling = await post('rita', '/api/rollouts', { flag: 'f', service: 'checkout', phases: [50, 10] });
    expect([falling.status, falling.error?.message]).toEqual([400, 'phases 50,10: phases must raise the percentage; the last phase must reach 100']);
    const short = await post('rita', '/api/rollouts', { flag: 'f', service: 'checkout', phases: [10, 50] });
    expect([short.status, short.error?.message]).toEqual([400, 'phases 10,50: the last phase must reach 100']);
    const both = await post('rita', '/api/rollouts', { plan: 'quick-rollout', flag: 'f', phases: [100] });
    expect([both.status, both.error?.message]).toEqual([400, expect.stringMatching(/^flag, phases: give either plan .* or flag and service/)]);
    const neither = await post('rita', '/api/rollouts', { comment: 'go' });
    expect([neither.status, neither.error?.message]).toEqual([400, expect.stringMatching(/^flag: give plan /)]);
    const actor = await post('rita', '/api/rollouts', { plan: 'quick-rollout', actor: 'rob' });
    expect([actor.status, actor.error?.message]).toEqual([400, expect.stringContaining('unknown field "actor"')]);
  });

  it('answers 404 for a plan the server does not have, and 400 naming the file of a checklist it cannot read', async () => {
    const unknown = await post('rita', '/api/rollouts', { plan: 'no-such-plan' });
    expect([unknown.status, unknown.error?.message]).toEqual([404, "no rollout plan named no-such-plan in the server's rollouts folder (known: gated-rollout, quick-rollout)"]);
    const gated = await post('rita', '/api/rollouts', { plan: 'gated-rollout' });
    expect([gated.status, gated.error?.message]).toEqual([400, expect.stringContaining(`gated by checklist no-such-checklist, and there is no ${join(folder, 'no-such-checklist.yaml')}`)]);
    expect(gated.error?.message).toContain('golive validate');
  });
});

describe('rollout records and controls', () => {
  it('answers an unknown run with 404 and the list command', async () => {
    const unknown = await get('/api/rollouts/no-such-run');
    expect([unknown.status, unknown.error]).toEqual([404, { code: 'not_found', message: 'no rollout no-such-run: list them with `golive rollout list`' }]);
  });

  it('refuses to promote a runbook run, saying what promote applies to', async () => {
    const start = await post('rita', '/api/runs', { runbook: 'held-runbook' });
    const runId = String(start.body.runId);
    await until(async () => (await harness.store.getRun(runId))?.kind, 15_000, 'the runbook run was never recorded');
    const promote = await post('rita', `/api/rollouts/${runId}/promote`);
    expect([promote.status, promote.error]).toEqual([409, { code: 'conflict', message: `run ${runId} is a runbook run; promote applies to rollouts; nothing changed` }]);
    const asRun = await post('rita', `/api/runs/${runId}/rollback`, {});
    expect(asRun.error?.message).toBe(`run ${runId} is a runbook run; rollback applies to rollouts; nothing changed`);
    expect((await get(`/api/rollouts/${runId}`)).status).toBe(404);
    expect((await post('rita', `/api/runs/${runId}/abort`, {})).status).toBe(200);
  });

  it('lists rollouts newest first, by service', async () => {
    const reply = await get('/api/rollouts?service=checkout&limit=10');
    expect(reply.status).toBe(200);
    const rollouts = z.object({ rollouts: z.array(z.looseObject({ runId: z.string(), plan: z.string(), service: z.literal('checkout') })) }).parse(reply.body).rollouts;
    expect(rollouts.map((record) => record.plan).slice(-1)).toEqual(['quick-rollout']);
    expect((await get('/api/rollouts?service=nowhere')).body).toEqual({ rollouts: [] });
  });

  it('is in the OpenAPI document under rollouts', async () => {
    const paths = z.object({ paths: z.record(z.string(), z.record(z.string(), z.looseObject({ tags: z.array(z.string()).optional() }))) })
      .parse((await callApi(server.url, '/api/openapi.json')).body).paths;
    expect(Object.keys(paths['/api/rollouts'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(Object.keys(paths['/api/rollouts/{id}'] ?? {})).toEqual(['get']);
    for (const control of ['promote', 'pause', 'resume', 'abort', 'rollback', 'approve', 'reject']) {
      expect(paths[`/api/rollouts/{id}/${control}`]?.post?.tags).toEqual(['rollouts']);
    }
  });
});
