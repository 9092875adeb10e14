import { Client, Connection } from '@temporalio/client';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OpenFeature } from '@openfeature/server-sdk';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { evaluateFlag, isFailure } from '../../definitions/flag-eval.ts';
import { startFlagCache, type FlagCache } from '../../runtime/flag-cache.ts';
import { createRoleDirectory } from '../../runtime/roles.ts';
import { startHttpServer, type HttpServer } from '../../server/http.ts';
import { createFlagStore, type FlagStore } from '../../store/flags.ts';
import { createPgIdentityStore } from '../../store/identity.ts';
import { migrate } from '../../store/migrate.ts';
import { createPgProtectionStore } from '../../store/protection.ts';
import { createPgRunStore } from '../../store/runs.ts';
import { createTestDatabase, uniqueId } from '../support/db.ts';
import { until } from '../support/poll.ts';

/**
 * golive's flags over OFREP against a real server and a real Postgres, with the OpenFeature SDK
 * and its OFREP provider as the client where an app would use them.
 */
let database: Awaited<ReturnType<typeof createTestDatabase>>;
/** The server's own pool: every checkout of a connection from it is counted. */
let serverPool: pg.Pool;
let pool: pg.Pool;
let flags: FlagStore;
let cache: FlagCache;
let server: HttpServer;
let secret: string;
let personToken: string;
let checkouts = 0;
const operator = { name: 'olga', channel: 'cli' as const };

const Evaluation = z.looseObject({ key: z.string(), value: z.boolean().optional(), reason: z.string().optional(), variant: z.string().optional(), errorCode: z.string().optional() });
const Bulk = z.object({ flags: z.array(Evaluation) });

async function ofrep(path: string, options: { key?: string; body?: string | object; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
  const body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body ?? { context: {} });
  const response = await fetch(`${server.url}/ofrep/v1/evaluate/flags${path}`, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, etag: response.headers.get('etag'), type: response.headers.get('content-type'), text, json: text ? (JSON.parse(text) as unknown) : undefined };
}

const evaluate = async (flag: string, targetingKey?: string, key = secret) => Evaluation.parse((await ofrep(`/${flag}`, { key, body: { context: { targetingKey } } })).json);
const set = (key: string, percent: number, environment = 'production') => flags.set({ key, environment, percent, actor: 'rita', channel: 'api' });

/** A targeting key that is in (or out of) the 50% flag `half`. */
function splitKey(wanted: boolean): string {
  for (let index = 0; ; index += 1) {
    const answer = evaluateFlag({ key: 'half', environment: 'production', enabled: true, percent: 50 }, `user-${index}`);
    if (!isFailure(answer) && answer.value === wanted) return `user-${index}`;
  }
}

/** Evaluates `keys` through OFREP, 32 at a time over keep-alive connections: who got true. */
async function inRollout(flag: string, keys: string[]): Promise<Set<string>> {
  const yes = new Set<string>();
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const key = keys[next++]!;
      if ((await evaluate(flag, key)).value === true) yes.add(key);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  return yes;
}

beforeAll(async () => {
  database = await createTestDatabase('flags_ofrep');
  pool = new pg.Pool({ connectionString: database.url });
  await migrate(pool);
  serverPool = new pg.Pool({ connectionString: database.url, max: 4 });
  serverPool.on('acquire', () => (checkouts += 1));
  flags = createFlagStore(pool);
  const identity = createPgIdentityStore(pool);
  personToken = (await identity.createToken({ user: 'rita' }, operator)).token;
  secret = (await flags.createKey({ name: 'checkout-web', environment: 'production' }, operator)).secret;
  await set('always-on', 100);
  await set('half', 50);
  cache = await startFlagCache(serverPool, { backoff: { firstMs: 50, maxMs: 500 } });
  server = await startHttpServer(
    {
      store: createPgRunStore(serverPool), protection: createPgProtectionStore(serverPool), identity: createPgIdentityStore(serverPool), roles: createRoleDirectory({}),
      runbooksDir: '/nonexistent', client: new Client({ connection: Connection.lazy({ address: inject('temporalAddress') }) }), pool: serverPool,
      taskQueue: uniqueId('flags-ofrep'), flags: createFlagStore(serverPool), flagCache: cache,
    },
    { host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }) },
  );
  await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl: server.url, headers: [['Authorization', `Bearer ${secret}`]] }));
});

afterAll(async () => {
  await OpenFeature.close();
  await server?.close();
  await cache?.close();
  await serverPool?.end();
  await pool?.end();
  await database?.drop();
});

describe('single evaluation with the OpenFeature SDK', () => {
  it('evaluates a flag: STATIC at 100%, SPLIT at 50% by the targeting key, with metadata', async () => {
    const client = OpenFeature.getClient();
    expect(await client.getBooleanDetails('always-on', false, { targetingKey: 'user-1' })).toMatchObject({ value: true, variant: 'on', reason: 'STATIC' });
    const split = await client.getBooleanDetails('half', false, { targetingKey: 'user-1' });
    expect(split).toMatchObject({ reason: 'SPLIT', variant: split.value ? 'on' : 'off', flagMetadata: { percent: 50, environment: 'production' } });
    expect(split.value).toBe((await evaluate('half', 'user-1')).value);
  });

  it('reports an unknown flag as FLAG_NOT_FOUND with the default value, as the raw answer says', async () => {
    const raw = await ofrep('/no-such-flag', { key: secret, body: { context: { targetingKey: 'user-1' } } });
    expect([raw.status, raw.json]).toEqual([404, { key: 'no-such-flag', errorCode: 'FLAG_NOT_FOUND', errorDetails: 'no flag no-such-flag in environment production' }]);
    const details = await OpenFeature.getClient().getBooleanDetails('no-such-flag', true, { targetingKey: 'user-1' });
    expect(details).toMatchObject({ value: true, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
  });

  it('answers TARGETING_KEY_MISSING for a split flag without a targeting key', async () => {
    const raw = await ofrep('/half', { key: secret, body: { context: { plan: 'pro' } } });
    expect([raw.status, raw.json]).toEqual([400, { key: 'half', errorCode: 'TARGETING_KEY_MISSING', errorDetails: expect.stringContaining('targetingKey') }]);
    expect(await OpenFeature.getClient().getBooleanDetails('half', false, {})).toMatchObject({ value: false, reason: 'ERROR', errorCode: 'TARGETING_KEY_MISSING' });
  });

  it('answers PARSE_ERROR for a body that is not JSON and INVALID_CONTEXT for one without a context object', async () => {
    const notJson = await ofrep('/half', { key: secret, body: '{"context": ' });
    expect([notJson.status, notJson.json]).toEqual([400, { key: 'half', errorCode: 'PARSE_ERROR', errorDetails: expect.stringContaining('not JSON') }]);
    for (const body of [{}, { context: 'user-1' }, { context: { targetingKey: 42 } }]) {
      const answer = await ofrep('/half', { key: secret, body });
      expect([answer.status, answer.json]).toEqual([400, { key: 'half', errorCode: 'INVALID_CONTEXT', errorDetails: expect.any(String) }]);
    }
  });
});

describe('flag-read keys', () => {
  it('refuses a missing, wrong or revoked key and a person\'s API token with 401', async () => {
    const wrong = `glf_${'0'.repeat(12)}_${'A'.repeat(43)}`;
    const revoked = await flags.createKey({ name: 'old-app', environment: 'production' }, operator);
    await flags.revokeKey(revoked.id, operator);
    for (const key of [undefined, wrong, revoked.secret, personToken]) {
      const answer = await ofrep('/always-on', { key });
      expect([key?.slice(0, 4), answer.status]).toEqual([key?.slice(0, 4), 401]);
      if (key) expect(answer.text).not.toContain(key);
    }
    await expect(OpenFeature.getClient().getBooleanValue('always-on', false, { targetingKey: 'u' })).resolves.toBe(true);
  });

  it('accepts the key as X-API-Key, and evaluates only its own environment\'s flags', async () => {
    expect((await ofrep('/always-on', { headers: { 'x-api-key': secret } })).status).toBe(200);
    await set('always-on', 100, 'staging');
    await set('staging-only', 100, 'staging');
    const staging = (await flags.createKey({ name: 'staging-web', environment: 'staging' }, operator)).secret;
    await until(async () => cache.flag('staging', 'staging-only'), 5_000, 'staging flags never reached the cache');
    expect((await evaluate('staging-only', 'u', staging)).value).toBe(true);
    expect((await ofrep('/staging-only', { key: secret })).status).toBe(404);
  });
});

describe('bulk evaluation', () => {
  it('evaluates every flag with an ETag; If-None-Match answers 304; a new context or a changed flag, a new ETag', async () => {
    const first = await ofrep('', { key: secret, body: { context: { targetingKey: 'user-7' } } });
    expect([first.status, first.type]).toEqual([200, 'application/json; charset=utf-8']);
    const { flags: answered } = Bulk.parse(first.json);
    expect(answered.map((flag) => flag.key)).toEqual(['always-on', 'half']);
    expect(answered[0]).toMatchObject({ key: 'always-on', value: true, reason: 'STATIC', variant: 'on' });
    expect(first.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);

    const again = await ofrep('', { key: secret, body: { context: { targetingKey: 'user-7' } }, headers: { 'if-none-match': first.etag! } });
    expect([again.status, again.text]).toEqual([304, '']);
    // The ETag is the body's hash: a context that gets other answers gets another ETag.
    const [inKey, outKey] = [splitKey(true), splitKey(false)];
    const inAnswer = await ofrep('', { key: secret, body: { context: { targetingKey: inKey } } });
    expect(inAnswer.etag).not.toBe((await ofrep('', { key: secret, body: { context: { targetingKey: outKey } } })).etag);

    await set('always-on', 0);
    const changed = await until(async () => {
      const answer = await ofrep('', { key: secret, body: { context: { targetingKey: 'user-7' } }, headers: { 'if-none-match': first.etag! } });
      return answer.status === 200 ? answer : undefined;
    }, 5_000, 'the changed flag never changed the bulk answer');
    expect(changed.etag).not.toBe(first.etag);
    expect(Bulk.parse(changed.json).flags[0]).toMatchObject({ key: 'always-on', value: false, reason: 'STATIC' });
    await set('always-on', 100);
  });

  it('lists a split flag without a targeting key as an error item, and a bad body as a bulk failure', async () => {
    const answer = await ofrep('', { key: secret, body: { context: {} } });
    expect(Bulk.parse(answer.json).flags.find((flag) => flag.key === 'half')).toEqual({ key: 'half', errorCode: 'TARGETING_KEY_MISSING', errorDetails: expect.any(String) });
    const bad = await ofrep('', { key: secret, body: 'nope' });
    expect([bad.status, bad.json]).toEqual([400, { errorCode: 'PARSE_ERROR', errorDetails: expect.any(String) }]);
  });
});

describe('rollout by targeting key', () => {
  it('puts 10,000 keys within 2 points of 10% and of 50%, and keeps every key that was in at 10% in at 50%', async () => {
    const keys = Array.from({ length: 10_000 }, (_, index) => `account-${index}`);
    await set('new-pricing', 10);
    await until(async () => cache.flag('production', 'new-pricing'), 5_000, 'the flag never reached the cache');
    const atTen = await inRollout('new-pricing', keys);
    expect(Math.abs((atTen.size / keys.length) * 100 - 10)).toBeLessThanOrEqual(2);
    await set('new-pricing', 50);
    await until(async () => (cache.flag('production', 'new-pricing')?.percent === 50 ? true : undefined), 5_000, 'the change never reached the cache');
    const atFifty = await inRollout('new-pricing', keys);
    expect(Math.abs((atFifty.size / keys.length) * 100 - 50)).toBeLessThanOrEqual(2);
    expect([...atTen].filter((key) => !atFifty.has(key))).toEqual([]);
  }, 120_000);
});

describe('changes from elsewhere', () => {
  it('reach evaluations within a second, while evaluations take no connection from the server\'s pool', async () => {
    await set('dark-launch', 0);
    await until(async () => cache.flag('production', 'dark-launch'), 5_000, 'the flag never reached the cache');
    await evaluate('dark-launch', 'u');
    const before = checkouts;
    for (let index = 0; index < 300; index += 1) expect((await evaluate('dark-launch', `u-${index}`)).value).toBe(false);
    expect(checkouts).toBe(before);

    const other = new pg.Client({ connectionString: database.url });
    await other.connect();
    const changedAt = Date.now();
    await other.query("UPDATE flags SET percent = 100 WHERE key = 'dark-launch' AND environment = 'production'");
    await other.end();
    let evaluations = 0;
    await until(async () => {
      evaluations += 1;
      return (await evaluate('dark-launch', 'u')).value === true ? true : undefined;
    }, 1_000, 'the change did not reach evaluations within a second', 5);
    expect(Date.now() - changedAt).toBeLessThan(1_000);
    expect(checkouts - before).toBeLessThanOrEqual(2);
    expect(evaluations).toBeGreaterThan(0);
  });

  it('reconnects when the listening connection drops, and reads every flag again', async () => {
    const versionBefore = cache.version;
    const killed = await pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'");
    expect(killed.rowCount).toBe(1);
    await until(async () => (cache.version > versionBefore ? true : undefined), 5_000, 'the cache never read the flags again after reconnecting');
    await set('after-reconnect', 100);
    await until(async () => ((await ofrep('/after-reconnect', { key: secret })).status === 200 ? true : undefined), 5_000, 'a change after the reconnect never arrived');
  });
});
