import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { createActionActivities } from '../../activities/catalog.ts';
import { startFlagCache, type FlagCache } from '../../runtime/flag-cache.ts';
import { createRoleDirectory } from '../../runtime/roles.ts';
import { startHttpServer, type HttpServer } from '../../server/http.ts';
import { createFlagStore, type FlagStore } from '../../store/flags.ts';
import { createPgIdentityStore } from '../../store/identity.ts';
import { migrate } from '../../store/migrate.ts';
import { createPgProtectionStore } from '../../store/protection.ts';
import { createPgRunStore } from '../../store/runs.ts';
import { loadToolchain } from '../../stack/toolchain.ts';
import { actionRequest } from '../support/actions.ts';
import { callApi } from '../support/api.ts';
import { createTestDatabase, uniqueId } from '../support/db.ts';

/** The flag API, the flag store's audit and retries, and the flag.set-rollout action on the built-in flags. */
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
let flags: FlagStore;
let cache: FlagCache;
let server: HttpServer;
const tokens: Record<string, string> = {};
const ROLES = { rita: ['release-manager' as const], adam: ['approver' as const] };

const Operation = z.looseObject({ tags: z.array(z.string()).optional(), security: z.array(z.unknown()).optional() });
const OpenApiPaths = z.object({ paths: z.record(z.string(), z.record(z.string(), Operation)), components: z.object({ securitySchemes: z.record(z.string(), z.unknown()) }) });
const api = (as: string, path: string, method = 'GET', body?: unknown) => callApi(server.url, path, { token: tokens[as] ?? '', method, body });

async function changeRows(key: string) {
  const { rows } = await pool.query(
    'SELECT actor, channel, run_id, idempotency_key, from_percent, to_percent, from_enabled, to_enabled, comment FROM flag_changes WHERE key = $1 ORDER BY id',
    [key],
  );
  return rows;
}

beforeAll(async () => {
  database = await createTestDatabase('flags_api');
  pool = new pg.Pool({ connectionString: database.url });
  await migrate(pool);
  flags = createFlagStore(pool);
  const identity = createPgIdentityStore(pool);
  for (const user of ['rita', 'adam']) tokens[user] = (await identity.createToken({ user }, { name: 'test-setup', channel: 'cli' })).token;
  cache = await startFlagCache(pool);
  server = await startHttpServer(
    {
      store: createPgRunStore(pool), protection: createPgProtectionStore(pool), identity, roles: createRoleDirectory(ROLES, identity), runbooksDir: '/nonexistent',
      client: new Client({ connection: Connection.lazy({ address: inject('temporalAddress') }) }), pool, taskQueue: uniqueId('flags-api'), flags, flagCache: cache,
    },
    { host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }) },
  );
});

afterAll(async () => {
  await server?.close();
  await cache?.close();
  await pool?.end();
  await database?.drop();
});

describe('PUT /api/flags/{key}', () => {
  it('refuses anyone but a release manager with 403, naming the role, and changes nothing', async () => {
    const answer = await api('adam', '/api/flags/checkout', 'PUT', { percent: 10 });
    expect([answer.status, answer.error]).toEqual([403, {
      code: 'forbidden',
      message: 'adam cannot change flag checkout: only a release manager may (adam holds approver); grant with `golive roles grant adam release-manager`',
    }]);
    expect(await flags.get('checkout', 'production')).toBeUndefined();
  });

  it('sets the flag as the token\'s user and audits who, channel api, from → to', async () => {
    const created = await api('rita', '/api/flags/checkout', 'PUT', { percent: 10, comment: 'first customers' });
    expect([created.status, created.body.change]).toEqual([200, { key: 'checkout', environment: 'production', from: null, to: { percent: 10, enabled: true }, changed: true }]);
    const raised = await api('rita', '/api/flags/checkout', 'PUT', { percent: 50 });
    expect(raised.body.change).toMatchObject({ from: { percent: 10, enabled: true }, to: { percent: 50, enabled: true }, changed: true });
    const off = await api('rita', '/api/flags/checkout', 'PUT', { enabled: false, comment: 'errors up' });
    expect(off.body.flag).toMatchObject({ key: 'checkout', enabled: false, percent: 50, updatedBy: 'rita' });
    expect(await changeRows('checkout')).toEqual([
      { actor: 'rita', channel: 'api', run_id: null, idempotency_key: null, from_percent: null, to_percent: '10.00', from_enabled: null, to_enabled: true, comment: 'first customers' },
      { actor: 'rita', channel: 'api', run_id: null, idempotency_key: null, from_percent: '10.00', to_percent: '50.00', from_enabled: true, to_enabled: true, comment: null },
      { actor: 'rita', channel: 'api', run_id: null, idempotency_key: null, from_percent: '50.00', to_percent: '50.00', from_enabled: true, to_enabled: false, comment: 'errors up' },
    ]);
    const detail = await api('adam', '/api/flags/checkout');
    expect(detail.body).toMatchObject({ flag: { enabled: false, percent: 50 }, changes: [{ actor: 'rita', to: { enabled: false } }, { to: { percent: 50 } }, { from: {}, to: { percent: 10 } }] });
  });

  it('says what is wrong with a change: out of range, nothing to change, a flag to switch that does not exist', async () => {
    const tooMuch = await api('rita', '/api/flags/checkout', 'PUT', { percent: 150 });
    expect([tooMuch.status, tooMuch.error?.message]).toEqual([400, expect.stringMatching(/^percent: /)]);
    const nothing = await api('rita', '/api/flags/checkout', 'PUT', { comment: 'hello' });
    expect([nothing.status, nothing.error?.message]).toEqual([400, expect.stringContaining('say what to change: percent, enabled or both')]);
    const missing = await api('rita', '/api/flags/no-such-flag', 'PUT', { enabled: true });
    expect([missing.status, missing.error?.message]).toEqual([404, expect.stringContaining('no flag no-such-flag in environment production')]);
    expect((await api('rita', '/api/flags/no-such-flag')).status).toBe(404);
  });

  it('lists flags, of one environment or all', async () => {
    await flags.set({ key: 'search', environment: 'staging', percent: 100, actor: 'olga' });
    expect((await api('adam', '/api/flags?environment=staging')).body).toEqual({ flags: [expect.objectContaining({ key: 'search', environment: 'staging', percent: 100 })] });
    expect(((await api('adam', '/api/flags')).body.flags as unknown[]).length).toBeGreaterThanOrEqual(2);
  });
});

describe('/api/flag-keys', () => {
  it('creates a key for a release manager only, shows its secret once, lists without it, revokes', async () => {
    expect((await api('adam', '/api/flag-keys', 'POST', { name: 'web', environment: 'staging' })).status).toBe(403);
    const created = await api('rita', '/api/flag-keys', 'POST', { name: 'web', environment: 'staging' });
    expect([created.status, created.body]).toEqual([201, expect.objectContaining({ name: 'web', environment: 'staging', createdBy: 'rita', secret: expect.stringMatching(/^glf_[0-9a-f]{12}_/) })]);
    const listed = await api('adam', '/api/flag-keys');
    expect(listed.text).not.toContain(String(created.body.secret));
    expect(listed.text).not.toContain('hash');
    const id = String(created.body.id);
    expect((await api('adam', `/api/flag-keys/${id}`, 'DELETE')).status).toBe(403);
    expect((await api('rita', `/api/flag-keys/${id}`, 'DELETE')).body).toMatchObject({ key: { id, revokedAt: expect.any(String) }, changed: true });
    expect((await api('rita', `/api/flag-keys/${id}`, 'DELETE')).body).toMatchObject({ changed: false });
    expect((await api('rita', '/api/flag-keys/nope', 'DELETE')).status).toBe(404);
    const { rows } = await pool.query("SELECT action, actor, channel FROM admin_events WHERE action LIKE 'flag-key.%' ORDER BY id");
    expect(rows).toEqual([{ action: 'flag-key.created', actor: 'rita', channel: 'api' }, { action: 'flag-key.revoked', actor: 'rita', channel: 'api' }]);
  });
});

describe('/api/openapi.json', () => {
  it('documents the flag routes under flags and OFREP under ofrep with the flag-key scheme, and stays a valid document', async () => {
    const reply = await callApi(server.url, '/api/openapi.json');
    const document = OpenApiPaths.parse(reply.body);
    const routes = Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => [`${method.toUpperCase()} ${path}`, operation] as const));
    const tagged = (tag: string) => routes.filter(([, operation]) => operation.tags?.includes(tag)).map(([route]) => route).sort();
    expect(tagged('flags')).toEqual([
      'DELETE /api/flag-keys/{id}', 'GET /api/flag-keys', 'GET /api/flags', 'GET /api/flags/{key}', 'POST /api/flag-keys', 'PUT /api/flags/{key}',
    ]);
    expect(tagged('ofrep')).toEqual(['POST /ofrep/v1/evaluate/flags', 'POST /ofrep/v1/evaluate/flags/{key}']);
    expect(document.paths['/ofrep/v1/evaluate/flags/{key}']?.post?.security).toEqual([{ flagKey: [] }]);
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(['bearerAuth', 'flagKey']);
    const motoServer = loadToolchain().motoServer;
    const validator = motoServer && join(dirname(motoServer), 'openapi-spec-validator');
    if (validator && existsSync(validator)) {
      const file = join(tmpdir(), `${uniqueId('flags-openapi')}.json`);
      await writeFile(file, reply.text);
      const { stdout } = await promisify(execFile)(validator, [file]);
      await rm(file, { force: true });
      expect(stdout).toContain('OK');
    }
  });
});

describe('the flag store', () => {
  it('answers a retry with the first change\'s from → to, changing nothing again', async () => {
    const key = uniqueId('retry');
    await flags.set({ key, environment: 'production', percent: 10, actor: 'olga' });
    const change = { key, environment: 'production', percent: 25, actor: 'rita', channel: 'run', runId: 'run-1', idempotencyKey: 'run-1:raise' };
    const first = await flags.set(change);
    await flags.set({ key, environment: 'production', percent: 5, actor: 'olga' });
    expect(await flags.set(change)).toEqual(first);
    expect(first).toEqual({ key, environment: 'production', from: 10, to: 25, changed: true });
    expect((await flags.get(key, 'production'))?.percent).toBe(5);
    expect((await changeRows(key)).filter((row) => row.idempotency_key === 'run-1:raise')).toHaveLength(1);
  });

  it('creates a flag once when two first changes race', async () => {
    const key = uniqueId('race');
    const answers = await Promise.all([1, 2, 3].map((percent) => flags.set({ key, environment: 'production', percent, actor: 'olga' })));
    expect(answers.filter((answer) => answer.from === null)).toHaveLength(1);
    expect(await changeRows(key)).toHaveLength(3);
  });
});

describe('the flag.set-rollout action', () => {
  it('sets a built-in flag for the run\'s actor, and a retry of the step reports the first change', async () => {
    const activities = createActionActivities({ env: {}, pgBin: '', flags });
    const request = actionRequest('flag.set-rollout', { key: 'payments-v2', percent: 20, actor: 'rita' });
    const first = await activities['flag.set-rollout'](request);
    expect(first).toEqual({ provider: 'builtin', key: 'payments-v2', environment: 'production', from: null, to: 20, changed: true });
    expect(await activities['flag.set-rollout'](request)).toEqual(first);
    expect(await changeRows('payments-v2')).toEqual([expect.objectContaining({ actor: 'rita', channel: 'run', run_id: request.runId, idempotency_key: request.idempotencyKey })]);
    const unattended = await activities['flag.set-rollout'](actionRequest('flag.set-rollout', { key: 'payments-v2', percent: 40 }));
    expect(unattended).toMatchObject({ from: 20, to: 40 });
    expect((await changeRows('payments-v2'))[1]).toMatchObject({ actor: 'golive' });
  });

  it('fails clearly, without retrying, on a worker without the flag store', async () => {
    const activities = createActionActivities({ env: {}, pgBin: '' });
    const failure = await activities['flag.set-rollout'](actionRequest('flag.set-rollout', { key: 'x', percent: 5 })).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ nonRetryable: true, type: 'FlagFailed', message: expect.stringContaining('cannot set built-in flag x: this worker has no flag store') });
  });
});
