import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { pino } from 'pino';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoleDirectory } from '../../runtime/roles.ts';
import { FailoverRecordShape } from '../../server/api-schemas.ts';
import { startHttpServer, type HttpServer } from '../../server/http.ts';
import { upsertFailover } from '../../store/failovers.ts';
import { createPgIdentityStore } from '../../store/identity.ts';
import { createPgProtectionStore } from '../../store/protection.ts';
import { FAILOVER_WORKFLOW, type FailoverRecord, type FailoverRunInput } from '../../workflows/definitions.ts';
import { callApi } from '../support/api.ts';
import { createEngineHarness, fakeActions, settledEvents, TEST_ROLES, type EngineHarness } from '../support/engine.ts';
import { runningFailover } from '../support/failover-records.ts';
import { until } from '../support/poll.ts';

/**
 * POST /api/failovers and the failover records against a real worker running the failover
 * workflow with fake actions. Roles as in TEST_ROLES: rita release-manager, ivan incident-commander, adam approver.
 */
let harness: EngineHarness;
let runbooksDir: string;
let server: HttpServer;
const tokens: Record<string, string> = {};
const FailoverAnswer = z.custom<FailoverRecord>((value) => FailoverRecordShape.safeParse(value).success);

/** Noop steps only, and a drill environment that replaces the one target. */
const noopRunbook = (name: string) => `apiVersion: golive/v1
kind: Runbook
metadata: { name: ${name}, service: orders }
spec:
  strategy: warm-standby
  objectives: { rpo: 5m, rto: 30m }
  targets:
    site: { type: http, url: "http://127.0.0.1:9/primary" }
  environments:
    staging: { targets: { site: { type: http, url: "http://127.0.0.1:9/staging" } } }
  steps:
    - { id: check, action: noop }
    - { id: switch, action: noop }
`;

const get = (path: string, as = 'rita') => callApi(server.url, path, { token: tokens[as] ?? '' });
const post = (as: string, body: unknown) => callApi(server.url, '/api/failovers', { method: 'POST', token: tokens[as] ?? '', body });

async function started(body: Record<string, unknown>): Promise<string> {
  const reply = await post('ivan', body);
  expect([reply.status, Object.keys(reply.body)]).toEqual([201, ['runId']]);
  return String(reply.body.runId);
}

/** The failover's record from the API once it has finished. */
function finished(runId: string): Promise<FailoverRecord> {
  return until(async () => {
    const reply = await get(`/api/failovers/${runId}`);
    const record = reply.status === 200 ? FailoverAnswer.parse(reply.body) : undefined;
    return record && ['succeeded', 'failed', 'aborted'].includes(record.status) ? record : undefined;
  }, 30_000, `failover ${runId} did not finish`, 200);
}

/** What the workflow was started with, from its history. */
async function startInput(runId: string): Promise<FailoverRunInput> {
  const history = await harness.client.workflow.getHandle(runId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return defaultPayloadConverter.fromPayload<FailoverRunInput>(payload!);
}

/** Failover workflows on this file's task queue whose id starts with `prefix`. */
async function failoverWorkflows(prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const execution of harness.client.workflow.list({ query: `WorkflowType = '${FAILOVER_WORKFLOW}' AND TaskQueue = '${harness.taskQueue}'` })) {
    if (execution.workflowId.startsWith(prefix)) ids.push(execution.workflowId);
  }
  return ids;
}

beforeAll(async () => {
  harness = await createEngineHarness('failover_api');
  await harness.startWorker(fakeActions([]));
  const identity = createPgIdentityStore(harness.pool);
  for (const user of ['rita', 'ivan', 'adam']) tokens[user] = (await identity.createToken({ user }, { name: 'test-setup', channel: 'cli' })).token;
  runbooksDir = await mkdtemp(join(tmpdir(), 'golive-failover-api-'));
  await writeFile(join(runbooksDir, 'failover-noop.yaml'), noopRunbook('failover-noop'));
  await writeFile(join(runbooksDir, 'refused-failover.yaml'), noopRunbook('refused-failover'));
  server = await startHttpServer(
    {
      store: harness.store, protection: createPgProtectionStore(harness.pool), identity, roles: createRoleDirectory(TEST_ROLES, identity),
      runbooksDir, client: harness.client, pool: harness.pool, taskQueue: harness.taskQueue,
    },
    { host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }) },
  );
});

afterAll(async () => {
  await server?.close();
  await harness?.close();
  if (runbooksDir) await rm(runbooksDir, { recursive: true, force: true });
});

describe('POST /api/failovers', () => {
  it('refuses anyone but an incident commander with 403, and starts nothing', async () => {
    const byRita = await post('rita', { runbook: 'refused-failover', reason: 'region eu-west-1 is down' });
    expect([byRita.status, byRita.error]).toEqual([403, {
      code: 'forbidden',
      message: 'rita cannot start a failover: only an incident commander may (rita holds release-manager); grant with `golive roles grant rita incident-commander`',
    }]);
    const byAdam = await post('adam', { runbook: 'refused-failover', reason: 'region eu-west-1 is down' });
    expect([byAdam.status, byAdam.error?.message]).toEqual([403, expect.stringMatching(/^adam cannot start a failover: .*\(adam holds approver\)/)]);

    // An allowed start afterwards shows the listing sees failovers of this runbook: the refused ones never existed.
    const runId = await started({ runbook: 'refused-failover', reason: 'the real one' });
    const ids = await until(async () => {
      const found = await failoverWorkflows('refused-failover-');
      return found.includes(runId) ? found : undefined;
    }, 10_000, 'the allowed failover never showed in the listing');
    expect(ids).toEqual([runId]);
    await finished(runId);
  });

  it('starts a failover of the named runbook as the token\'s user with the reason, and its record follows it to succeeded', async () => {
    const runId = await started({ runbook: 'failover-noop', reason: 'region eu-west-1 is down' });
    expect(runId).toMatch(/^failover-noop-\d{8}-\d{4}-[0-9a-f]{4}$/);
    const record = await finished(runId);
    expect(record).toMatchObject({
      runId, runbook: 'failover-noop', service: 'orders', status: 'succeeded', reason: 'region eu-west-1 is down', requestedBy: 'ivan', drill: false,
      objectives: { rpo: '5m', rto: '30m' }, fenced: 'not-run',
    });
    expect(record.steps.map((step) => [step.id, step.status])).toEqual([['check', 'succeeded'], ['switch', 'succeeded']]);
    expect(await startInput(runId)).toMatchObject({ requestedBy: 'ivan', channel: 'api', source: 'failover-noop', reason: 'region eu-west-1 is down', comment: 'region eu-west-1 is down' });
    const events = await settledEvents(harness, runId);
    expect(events.find((event) => event.action === 'run.started')).toMatchObject({ actor: 'ivan', channel: 'api' });
  });

  it('runs a drill against the named environment\'s targets', async () => {
    const runId = await started({ runbook: 'failover-noop', reason: 'quarterly drill', environment: 'staging', force: 'lab data only' });
    const input = await startInput(runId);
    expect(input.drill).toEqual({ environment: 'staging', trigger: 'manual' });
    expect(input.force).toBe('lab data only');
    expect(input.runbook.spec.targets.site).toMatchObject({ url: 'http://127.0.0.1:9/staging' });
    expect(await finished(runId)).toMatchObject({ status: 'succeeded', drill: true, environment: 'staging', reason: 'quarterly drill' });
  });

  it('refuses a missing or blank reason, an actor field, and an environment the runbook does not declare', async () => {
    const missing = await post('ivan', { runbook: 'failover-noop' });
    expect([missing.status, missing.error?.message]).toEqual([400, expect.stringMatching(/^reason: /)]);
    const blank = await post('ivan', { runbook: 'failover-noop', reason: '   ' });
    expect([blank.status, blank.error?.message]).toEqual([400, expect.stringMatching(/^a failover needs a reason/)]);
    const actor = await post('ivan', { runbook: 'failover-noop', reason: 'x', actor: 'rita' });
    expect([actor.status, actor.error?.message]).toEqual([400, expect.stringContaining('unknown field "actor"')]);
    const nowhere = await post('ivan', { runbook: 'failover-noop', reason: 'drill', environment: 'nowhere' });
    expect([nowhere.status, nowhere.error?.message]).toEqual([400, 'runbook failover-noop: no environment nowhere in the runbook (known: staging)']);
  });

  it('answers 404 for a runbook the server does not have, naming the ones it has', async () => {
    const reply = await post('ivan', { runbook: 'no-such-runbook', reason: 'region down' });
    expect([reply.status, reply.error?.code, reply.error?.message])
      .toEqual([404, 'not_found', "no runbook named no-such-runbook in the server's runbooks folder (known: failover-noop, refused-failover)"]);
  });
});

describe('GET /api/failovers', () => {
  const ledger = runningFailover({ runId: 'ledger-20260301-1000-cc01', service: 'ledger', declaredAt: Date.parse('2026-03-01T10:00:00Z') });
  const ledgerDrill = runningFailover({ runId: 'ledger-20260301-1100-cc02', service: 'ledger', declaredAt: Date.parse('2026-03-01T11:00:00Z'), drill: 'staging' });

  beforeAll(async () => {
    const client = await harness.pool.connect();
    try {
      for (const record of [ledger, ledgerDrill]) await upsertFailover(client, record);
    } finally {
      client.release();
    }
  });

  it('answers one failover\'s record as stored, and 404 for a run it has no failover of', async () => {
    const reply = await get(`/api/failovers/${ledger.runId}`);
    expect([reply.status, reply.body]).toEqual([200, ledger]);
    const unknown = await get('/api/failovers/no-such-run');
    expect([unknown.status, unknown.error]).toEqual([404, { code: 'not_found', message: 'no failover no-such-run: list them with `golive failover list`' }]);
  });

  it('lists failovers newest first, filtered by service and drill', async () => {
    expect((await get('/api/failovers?service=ledger')).body).toEqual({ failovers: [ledgerDrill, ledger] });
    expect((await get('/api/failovers?service=ledger&drill=true')).body).toEqual({ failovers: [ledgerDrill] });
    expect((await get('/api/failovers?service=ledger&drill=false&limit=5')).body).toEqual({ failovers: [ledger] });
    const all = await get('/api/failovers?limit=500');
    expect(all.status).toBe(200);
    expect(z.object({ failovers: z.array(FailoverAnswer) }).parse(all.body).failovers.map((record) => record.service)).toContain('orders');
  });

  it('refuses a service it has no failover of, naming the ones it has, and a drill filter other than true or false', async () => {
    const unknown = await get('/api/failovers?service=payments');
    expect([unknown.status, unknown.error?.message]).toEqual([400, 'service: golive has no failovers of a service "payments"; services with failovers: ledger, orders']);
    expect((await get('/api/failovers?drill=yes')).status).toBe(400);
  });

  it('is in the OpenAPI document', async () => {
    const paths = z.object({ paths: z.record(z.string(), z.record(z.string(), z.unknown())) }).parse((await callApi(server.url, '/api/openapi.json')).body).paths;
    expect(Object.keys(paths['/api/failovers'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(Object.keys(paths['/api/failovers/{id}'] ?? {})).toEqual(['get']);
  });
});
