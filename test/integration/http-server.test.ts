import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRoleDirectory } from '../../runtime/roles.ts';
import { startHttpServer, type HttpServer } from '../../server/http.ts';
import type { ServerDeps } from '../../server/deps.ts';
import { upsertFailover } from '../../store/failovers.ts';
import { createPgIdentityStore, type IdentityStore } from '../../store/identity.ts';
import { migrate } from '../../store/migrate.ts';
import { createPgProtectionStore, type ProtectionStore } from '../../store/protection.ts';
import { createPgRunStore, type RunStore } from '../../store/runs.ts';
import { inTransaction } from '../../store/transaction.ts';
import type { ProjectionBatch } from '../../workflows/definitions.ts';
import { createTestDatabase } from '../support/db.ts';
import { finishedFailover, runningFailover } from '../support/failover-records.ts';
import { backupEntry, drillRecord, protectedRunbookText } from '../support/protection-records.ts';
import { scriptedRun, type ScriptedRun } from '../support/runs.ts';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
let store: RunStore;
let protection: ProtectionStore;
let identity: IdentityStore;
let token: string;
let runbooksDir: string;
let connection: Connection;
let client: Client;
let server: HttpServer;
const servers: HttpServer[] = [];
const logLines: string[] = [];
const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });

const base = Date.parse('2026-03-01T10:00:00Z');
const RUNS: ScriptedRun[] = [
  { runId: 'orders-failover-a', service: 'orders', outcome: 'succeeded', startedAt: new Date(base) },
  { runId: 'payments-failover-b', service: 'payments', outcome: 'failed', startedAt: new Date(base + 60_000) },
  { runId: 'orders-failover-c', service: 'orders', outcome: 'waiting-approval', startedAt: new Date(base + 120_000) },
  { runId: 'orders-failover-d', service: 'orders', outcome: 'succeeded', startedAt: new Date(base + 180_000) },
];
const recorded = new Map<string, ProjectionBatch[]>(RUNS.map((run) => [run.runId, scriptedRun(run)]));

const HOUR = 3_600_000;
const now = Date.now();
const DRILLS = [
  drillRecord({ runId: 'orders-drill-a', service: 'orders', finishedAt: now - 50 * HOUR }),
  drillRecord({ runId: 'payments-drill-b', service: 'payments', finishedAt: now - 3 * HOUR, status: 'failed', reason: 'health check did not pass within 5m' }),
  drillRecord({ runId: 'orders-drill-c', service: 'orders', finishedAt: now - 2 * HOUR, rpoMs: 4 * HOUR, rtoMs: 310_000 }),
];

async function serve(deps: Partial<Omit<ServerDeps, 'registry'>> = {}): Promise<HttpServer> {
  const started = await startHttpServer({ store, protection, identity, roles: createRoleDirectory({}, identity), runbooksDir, client, pool, taskQueue: 'golive-http-server-test', ...deps }, { host: '127.0.0.1', port: 0, logger });
  servers.push(started);
  return started;
}

async function get(path: string, on: HttpServer = server): Promise<{ status: number; type: string; text: string; json: () => Record<string, unknown> }> {
  const response = await fetch(`${on.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type') ?? '', text, json: () => JSON.parse(text) as Record<string, unknown> };
}

beforeAll(async () => {
  database = await createTestDatabase('http_server');
  pool = new pg.Pool({ connectionString: database.url });
  await migrate(pool);
  store = createPgRunStore(pool);
  for (const batches of recorded.values()) for (const batch of batches) await store.project(batch);
  protection = createPgProtectionStore(pool);
  identity = createPgIdentityStore(pool);
  token = (await identity.createToken({ user: 'rita' }, { name: 'test-setup', channel: 'cli' })).token;
  for (const drill of DRILLS) await protection.recordDrill(drill);
  await protection.recorded(backupEntry('orders', 'orders-fresh', now - 3 * HOUR));
  await protection.recorded(backupEntry('payments', 'payments-old', now - 30 * HOUR));
  runbooksDir = await mkdtemp(join(tmpdir(), 'golive-http-runbooks-'));
  await writeFile(join(runbooksDir, 'orders.yaml'), protectedRunbookText({ name: 'orders-backup-restore', service: 'orders' }));
  await writeFile(join(runbooksDir, 'payments.yaml'), protectedRunbookText({ name: 'payments-backup-restore', service: 'payments' }));
  await writeFile(join(runbooksDir, 'broken.yaml'), 'apiVersion: golive/v1\nkind: Runbook\n');
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection });
  server = await serve();
});

afterAll(async () => {
  await Promise.all(servers.map((each) => each.close()));
  await connection?.close();
  await pool?.end();
  await database?.drop();
  if (runbooksDir) await rm(runbooksDir, { recursive: true, force: true });
});

describe('health and readiness', () => {
  it('answers /healthz', async () => {
    const reply = await get('/healthz');
    expect([reply.status, reply.json()]).toEqual([200, { ok: true }]);
  });

  it('is ready when Postgres and Temporal answer', async () => {
    const reply = await get('/readyz');
    expect([reply.status, reply.json()]).toEqual([200, { ready: true, postgres: 'ok', temporal: 'ok' }]);
  });

  it('is not ready, naming postgres, when its pool is closed', async () => {
    const closed = new pg.Pool({ connectionString: database.url });
    await closed.query('SELECT 1');
    await closed.end();
    const reply = await get('/readyz', await serve({ pool: closed }));
    expect(reply.status).toBe(503);
    expect(reply.json()).toEqual({ ready: false, postgres: 'unavailable', temporal: 'ok' });
  });
});

describe('/metrics', () => {
  it('serves Prometheus text with runs by status and process metrics', async () => {
    const reply = await get('/metrics');
    expect(reply.status).toBe(200);
    expect(reply.type).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = reply.text.split('\n').filter((line) => line.startsWith('golive_runs{')).sort();
    expect(samples).toEqual(['golive_runs{status="failed"} 1', 'golive_runs{status="succeeded"} 2', 'golive_runs{status="waiting-approval"} 1']);
    expect(reply.text).toContain('# TYPE golive_runs gauge');
    expect(reply.text).toMatch(/^golive_process_cpu_user_seconds_total \d/m);
    expect(reply.text).toMatch(/^golive_nodejs_heap_size_used_bytes \d/m);
  });

  it('serves the DR posture of each service for alerting', async () => {
    const text = (await get('/metrics')).text;
    const sample = (name: string, labels: string) => Number(new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(sample('golive_dr_status', 'service="orders",status="ok"')).toBe(1);
    expect(sample('golive_dr_status', 'service="payments",status="at-risk"')).toBe(1);
    expect(sample('golive_backup_age_seconds', 'service="payments"')).toBeGreaterThanOrEqual(30 * 3_600);
    expect(sample('golive_rpo_objective_seconds', 'service="orders"')).toBe(24 * 3_600);
    expect(sample('golive_drill_measured_rpo_seconds', 'service="orders"')).toBe(4 * 3_600);
    expect(sample('golive_drill_measured_rto_seconds', 'service="orders"')).toBe(310);
    expect(sample('golive_drill_last_passed_timestamp_seconds', 'service="orders"')).toBeCloseTo((now - 2 * HOUR) / 1_000, 0);
    expect(text).not.toMatch(/golive_drill_last_passed_timestamp_seconds\{service="payments"\}/);
  });
});

describe('/api/runs', () => {
  const ids = async (query: string) => ((await get(`/api/runs${query}`)).json().runs as { runId: string }[]).map((run) => run.runId);

  it('lists runs newest first, filtered by service, status and limit', async () => {
    expect(await ids('')).toEqual(['orders-failover-d', 'orders-failover-c', 'payments-failover-b', 'orders-failover-a']);
    expect(await ids('?service=orders')).toEqual(['orders-failover-d', 'orders-failover-c', 'orders-failover-a']);
    expect(await ids('?status=failed')).toEqual(['payments-failover-b']);
    expect(await ids('?service=orders&status=succeeded&limit=1')).toEqual(['orders-failover-d']);
    const unknown = await get('/api/runs?service=billing');
    expect([unknown.status, (unknown.json().error as { message: string }).message]).toEqual([400, 'service: golive has no runs of a service "billing"; services with runs: orders, payments']);
    expect((await get('/api/runs?status=bogus')).status).toBe(400);
    expect((await get('/api/runs?limit=1')).json().runs).toEqual([{
      runId: 'orders-failover-d', kind: 'runbook', definitionName: 'orders-failover', service: 'orders', requestedBy: 'rita',
      status: 'succeeded', startedAt: '2026-03-01T10:03:00.000Z', finishedAt: '2026-03-01T10:03:06.000Z',
    }]);
  });

  it.each(['0', 'abc', '501'])('refuses limit=%s with a message naming limit', async (limit) => {
    const reply = await get(`/api/runs?limit=${limit}`);
    expect(reply.status).toBe(400);
    expect(reply.json().error).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/^limit: /) });
  });
});

describe('/api/runs/:id', () => {
  it('returns the recorded state of a finished run', async () => {
    const reply = await get('/api/runs/payments-failover-b');
    expect(reply.status).toBe(200);
    expect(reply.json()).toEqual(recorded.get('payments-failover-b')!.at(-1)!.run.state);
    expect(reply.json()).toMatchObject({ status: 'failed', reason: 'step approve-failover failed: rejected by ivan' });
  });

  it('falls back to the recorded state of an open run whose workflow Temporal does not know', async () => {
    const reply = await get('/api/runs/orders-failover-c');
    expect([reply.status, reply.json().status, reply.json().currentStep]).toEqual([200, 'waiting-approval', 'approve-failover']);
  });

  it('answers 404 naming an unknown run', async () => {
    const reply = await get('/api/runs/orders-failover-zz');
    expect(reply.status).toBe(404);
    expect(reply.json()).toEqual({ error: { code: 'not_found', message: 'no run orders-failover-zz: list runs with `golive runs`' } });
  });

  it('returns a run\'s timeline in order, and 404 for an unknown run', async () => {
    const reply = await get('/api/runs/orders-failover-a/timeline');
    expect(reply.status).toBe(200);
    const { runId, events } = reply.json() as { runId: string; events: { seq: number; action: string; stepId?: string }[] };
    expect(runId).toBe('orders-failover-a');
    expect(events.map((event) => [event.seq, event.action, event.stepId])).toEqual([
      [1, 'run.started', undefined], [2, 'step.started', 'check-replication'], [3, 'step.succeeded', 'check-replication'],
      [4, 'approval.requested', 'approve-failover'], [5, 'approval.approved', 'approve-failover'], [6, 'run.finished', undefined],
    ]);
    const unknown = await get('/api/runs/orders-failover-zz/timeline');
    expect([unknown.status, unknown.json()]).toEqual([404, { error: { code: 'not_found', message: 'no run orders-failover-zz: list runs with `golive runs`' } }]);
  });
});

describe('/api/drills', () => {
  const ids = async (query: string) => ((await get(`/api/drills${query}`)).json().drills as { runId: string }[]).map((drill) => drill.runId);

  it('lists recorded drills newest first, filtered by service and limit', async () => {
    expect(await ids('')).toEqual(['orders-drill-c', 'payments-drill-b', 'orders-drill-a']);
    expect(await ids('?service=orders')).toEqual(['orders-drill-c', 'orders-drill-a']);
    expect(await ids('?limit=1')).toEqual(['orders-drill-c']);
    const unknown = await get('/api/drills?service=billing');
    expect([unknown.status, (unknown.json().error as { message: string }).message]).toEqual([400, 'service: golive has no drills of a service "billing"; services with drills: orders, payments']);
  });

  it('refuses a bad limit with a message naming limit', async () => {
    const reply = await get('/api/drills?limit=0');
    expect(reply.status).toBe(400);
    expect(reply.json().error).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/^limit: /) });
  });

  it('returns one drill record, and 404 naming an unknown drill', async () => {
    const reply = await get('/api/drills/payments-drill-b');
    expect([reply.status, reply.json()]).toEqual([200, JSON.parse(JSON.stringify(DRILLS[1]))]);
    const unknown = await get('/api/drills/orders-drill-zz');
    expect([unknown.status, unknown.json()]).toEqual([404, { error: { code: 'not_found', message: 'no drill orders-drill-zz: list drills with `golive drill history`' } }]);
  });
});

describe('/api/posture', () => {
  it('judges each protected service by its runbook and golive\'s records, naming unusable files', async () => {
    const drill = finishedFailover(runningFailover({ runId: 'orders-failover-drill-a', declaredAt: Date.now() - HOUR, drill: 'staging' }));
    await inTransaction(pool, (client) => upsertFailover(client, drill));
    const reply = await get('/api/posture');
    expect(reply.status).toBe(200);
    const body = reply.json() as { runbooksDir: string; services: { service: string; status: string; problems: string[]; lastFailoverDrill: unknown }[]; unreadable: string[] };
    expect(body.runbooksDir).toBe(runbooksDir);
    expect(body.services.map(({ service, status, problems }) => ({ service, status, problems }))).toEqual([
      { service: 'orders', status: 'ok', problems: [] },
      { service: 'payments', status: 'at-risk', problems: ['last backup 1d 6h old exceeds RPO 24h', 'last drill payments-drill-b failed: health check did not pass within 5m', 'no drill passed in 30d (never passed)'] },
    ]);
    expect(body.services[0]).toMatchObject({ lastBackup: { backupId: 'orders-fresh', withinRpo: true }, lastDrill: { runId: 'orders-drill-c', rpoMs: 4 * HOUR, rtoMs: 310_000 } });
    expect(body.services.map((service) => service.lastFailoverDrill)).toEqual([
      { runId: drill.runId, at: drill.declaredAt, status: 'succeeded', environment: 'staging', rtoMs: 90_000, objectiveRtoMs: 1_800_000, verdict: 'met', exposureSeconds: 0 },
      null,
    ]);
    expect(body.unreadable).toEqual([expect.stringMatching(/^.*broken\.yaml:\d+:\d+: .*metadata/)]);
  });
});

describe('errors', () => {
  it('answers an unknown path with a JSON 404', async () => {
    const reply = await get('/api/nothing-here');
    expect([reply.status, reply.type, reply.json()]).toEqual([404, 'application/json; charset=utf-8', { error: { code: 'not_found', message: 'no route GET /api/nothing-here' } }]);
  });

  it('answers a malformed path with a 400 and keeps serving', async () => {
    const reply = await get('/api/runs/%E0%A4%A');
    expect([reply.status, reply.json()]).toEqual([400, { error: { code: 'bad_request', message: 'malformed request path /api/runs/%E0%A4%A' } }]);
    expect((await get('/healthz')).status).toBe(200);
  });

  it('answers 500 without the error text when a handler throws, and logs the error', async () => {
    const failing: RunStore = { ...store, listRuns: () => Promise.reject(new Error('connection to db.internal refused: password hunter2')) };
    const reply = await get('/api/runs?service=orders', await serve({ store: failing }));
    expect([reply.status, reply.json()]).toEqual([500, { error: { code: 'internal', message: 'internal error; see the server log' } }]);
    expect(reply.text).not.toContain('hunter2');
    const logged = logLines.map((line) => JSON.parse(line) as { msg: string; path?: string; err?: { message: string } }).find((entry) => entry.msg === 'request failed');
    expect(logged).toMatchObject({ path: '/api/runs', err: { message: 'connection to db.internal refused: password hunter2' } });
  });
});
