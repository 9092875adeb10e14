import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoleDirectory } from '../../runtime/roles.ts';
import { startHttpServer, type HttpServer } from '../../server/http.ts';
import { createPgIdentityStore, type IdentityStore } from '../../store/identity.ts';
import { createPgProtectionStore } from '../../store/protection.ts';
import { FINISHED, type RunState } from '../../workflows/definitions.ts';
import { callApi, RunStateAnswer, serverRunbook } from '../support/api.ts';
import { until as poll } from '../support/poll.ts';
import { uniqueId } from '../support/db.ts';
import { createEngineHarness, fakeActions, settledEvents, type EngineHarness } from '../support/engine.ts';

/**
 * POST /api/runs and the control routes against a real worker on a real Temporal server.
 * The worker holds the roles of TEST_ROLES: rita release-manager, ivan incident-commander, adam approver.
 */
const calls: string[] = [];
let harness: EngineHarness;
let identity: IdentityStore;
let runbooksDir: string;
let server: HttpServer;
const servers: HttpServer[] = [];
const tokens: Record<string, string> = {};
const logger = pino({ level: 'silent' });

async function serve(taskQueue: string): Promise<HttpServer> {
  const started = await startHttpServer(
    { store: harness.store, protection: createPgProtectionStore(harness.pool), identity, roles: createRoleDirectory({}, identity), runbooksDir, client: harness.client, pool: harness.pool, taskQueue },
    { host: '127.0.0.1', port: 0, logger },
  );
  servers.push(started);
  return started;
}

const post = (path: string, as: string, body: unknown, on = server) => callApi(on.url, path, { method: 'POST', token: tokens[as] ?? '', body });

async function stateOf(runId: string): Promise<RunState> {
  const reply = await callApi(server.url, `/api/runs/${runId}`, { token: tokens.rita });
  expect(reply.status).toBe(200);
  return RunStateAnswer.parse(reply.body);
}

function until(runId: string, ready: (state: RunState) => boolean, timeoutMs = 30_000): Promise<RunState> {
  return poll(async () => {
    const state = await stateOf(runId);
    return ready(state) ? state : undefined;
  }, timeoutMs, `run ${runId} did not reach the expected state`, 200);
}

async function startRun(name: string, comment?: string): Promise<string> {
  const reply = await post('/api/runs', 'rita', { runbook: name, comment });
  expect(reply.status).toBe(201);
  expect(Object.keys(reply.body)).toEqual(['runId']);
  return String(reply.body.runId);
}

beforeAll(async () => {
  harness = await createEngineHarness('http_runs');
  await harness.startWorker(fakeActions(calls));
  identity = createPgIdentityStore(harness.pool);
  for (const user of ['rita', 'ivan', 'adam']) tokens[user] = (await identity.createToken({ user }, { name: 'test-setup', channel: 'cli' })).token;
  runbooksDir = await mkdtemp(join(tmpdir(), 'golive-http-runs-'));
  await writeFile(join(runbooksDir, 'failover.yaml'), serverRunbook('api-failover'));
  server = await serve(harness.taskQueue);
});

afterAll(async () => {
  await Promise.all(servers.map((each) => each.close()));
  await harness?.close();
  if (runbooksDir) await rm(runbooksDir, { recursive: true, force: true });
});

describe('POST /api/runs and the controls', () => {
  it('starts the named runbook as the token\'s user and lets only an eligible other user approve it', async () => {
    const runId = await startRun('api-failover', 'planned failover drill');
    const waiting = await until(runId, (state) => state.status === 'waiting-approval');
    expect(waiting).toMatchObject({ runbook: 'api-failover', requestedBy: 'rita' });

    const byRequester = await post(`/api/runs/${runId}/approve`, 'rita', {});
    expect([byRequester.status, byRequester.error?.code, byRequester.error?.message])
      .toEqual([403, 'forbidden', expect.stringMatching(/^four-eyes: rita requested run/)]);
    expect((await post(`/api/runs/${runId}/approve`, 'adam', {})).status).toBe(403);
    expect((await post(`/api/runs/${runId}/approve`, 'ivan', { actor: 'rita' })).status).toBe(400);

    const approved = await post(`/api/runs/${runId}/approve`, 'ivan', { comment: 'lag is fine' });
    expect([approved.status, approved.body]).toEqual([200, { runId, control: 'approve', actor: 'ivan', message: expect.stringContaining('approved gate approve-failover') }]);
    await until(runId, (state) => state.currentStep === 'hold');
    expect((await post(`/api/runs/${runId}/approve`, 'ivan', {})).status).toBe(409);

    expect((await post(`/api/runs/${runId}/resume`, 'rita', {})).status).toBe(200);
    const finished = await until(runId, (state) => FINISHED.includes(state.status));
    expect(finished.status).toBe('succeeded');
    expect(finished.steps.find((step) => step.id === 'approve-failover')).toMatchObject({ actor: 'ivan', comment: 'lag is fine' });

    const events = await settledEvents(harness, runId);
    expect(events.find((event) => event.action === 'run.started')).toMatchObject({ actor: 'rita', channel: 'api' });
    expect(events.find((event) => event.action === 'approval.approved')).toMatchObject({ actor: 'ivan', channel: 'api' });
  });

  it('pauses, skips and aborts through the API, as the token\'s user', async () => {
    const runId = await startRun('api-failover');
    await until(runId, (state) => state.status === 'waiting-approval');
    expect((await post(`/api/runs/${runId}/pause`, 'rita', { comment: 'hold on' })).body).toMatchObject({ control: 'pause', actor: 'rita' });
    expect((await post(`/api/runs/${runId}/skip`, 'adam', { step: 'promote' })).status).toBe(403);
    const aborted = await post(`/api/runs/${runId}/abort`, 'ivan', { comment: 'standby unhealthy' });
    expect([aborted.status, aborted.body.actor]).toEqual([200, 'ivan']);
    const state = await until(runId, (current) => FINISHED.includes(current.status));
    expect([state.status, state.reason]).toEqual(['aborted', 'aborted by ivan: standby unhealthy']);
    expect((await post(`/api/runs/${runId}/resume`, 'rita', {})).status).toBe(409);
  });

  it('answers 404 for a control of an unknown run, and 503 when no worker polls the server\'s task queue', async () => {
    const unknown = await post(`/api/runs/${uniqueId('no-such-run')}/approve`, 'ivan', {});
    expect([unknown.status, unknown.error?.code]).toEqual([404, 'not_found']);
    const idle = await serve(uniqueId('no-worker'));
    const reply = await post(`/api/runs/${uniqueId('run')}/abort`, 'ivan', {}, idle);
    expect([reply.status, reply.error?.code, reply.error?.message]).toEqual([503, 'unavailable', expect.stringMatching(/^no worker is polling task queue/)]);
  });
});
