import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { SignJWT } from 'jose';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { createRoleDirectory } from '../../runtime/roles.ts';
import { startHttpServer, type HttpServer } from '../../server/http.ts';
import type { OidcSettings } from '../../server/oidc.ts';
import { createPgIdentityStore, type IdentityStore } from '../../store/identity.ts';
import { migrate } from '../../store/migrate.ts';
import { createPgProtectionStore } from '../../store/protection.ts';
import { createPgRunStore } from '../../store/runs.ts';
import { loadToolchain } from '../../stack/toolchain.ts';
import { callApi, serverRunbook } from '../support/api.ts';
import { createTestDatabase, uniqueId } from '../support/db.ts';
import { startOidcProvider, type OidcProvider } from '../support/oidc.ts';

const AUDIENCE = 'golive-api';
const INVALID = 'the bearer token is invalid, expired or revoked';
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
let identity: IdentityStore;
let connection: Connection;
let runbooksDir: string;
let oidc: OidcProvider;
let server: HttpServer;
const servers: HttpServer[] = [];
const logLines: string[] = [];
const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
const operator = { name: 'olga', channel: 'cli' as const };

async function serve(settings?: OidcSettings): Promise<HttpServer> {
  const started = await startHttpServer(
    { store: createPgRunStore(pool), protection: createPgProtectionStore(pool), identity, roles: createRoleDirectory({}, identity), runbooksDir, client: new Client({ connection }), pool, taskQueue: uniqueId('http-auth'), oidc: settings },
    { host: '127.0.0.1', port: 0, logger },
  );
  servers.push(started);
  return started;
}

const call = (path: string, options: { token?: string; authorization?: string; method?: string; body?: unknown; on?: HttpServer } = {}) => callApi((options.on ?? server).url, path, options);

const LogLine = z.looseObject({ msg: z.string(), file: z.string().optional(), user: z.string().optional() });
const logged = () => logLines.map((line) => LogLine.parse(JSON.parse(line)));
const OpenApiDocument = z.object({
  openapi: z.string(),
  paths: z.record(z.string(), z.record(z.string(), z.looseObject({ security: z.array(z.unknown()).optional() }))),
  components: z.object({ securitySchemes: z.record(z.string(), z.unknown()) }),
  security: z.array(z.unknown()),
});

const token = async (user = uniqueId('alice'), expiresAt?: Date) => (await identity.createToken({ user, expiresAt }, operator)).token;

beforeAll(async () => {
  database = await createTestDatabase('http_auth');
  pool = new pg.Pool({ connectionString: database.url });
  await migrate(pool);
  identity = createPgIdentityStore(pool);
  connection = await Connection.connect({ address: inject('temporalAddress') });
  runbooksDir = await mkdtemp(join(tmpdir(), 'golive-http-auth-'));
  await writeFile(join(runbooksDir, 'failover.yaml'), serverRunbook('orders-failover'));
  await writeFile(join(runbooksDir, 'broken.yaml'), 'apiVersion: golive/v1\nkind: Runbook\n');
  oidc = await startOidcProvider(AUDIENCE);
  server = await serve({ issuer: oidc.issuer, audience: AUDIENCE, userClaim: 'sub' });
});

afterAll(async () => {
  await Promise.all(servers.map((each) => each.close()));
  await oidc?.close();
  await connection?.close();
  await pool?.end();
  await database?.drop();
  if (runbooksDir) await rm(runbooksDir, { recursive: true, force: true });
});

describe('API tokens', () => {
  it('answers a request with a valid token', async () => {
    expect((await call('/api/runs', { token: await token() })).status).toBe(200);
  });

  it('answers 401 with a Bearer challenge when the header is missing or malformed', async () => {
    const missing = await call('/api/runs');
    expect([missing.status, missing.challenge, missing.error?.code]).toEqual([401, 'Bearer realm="golive"', 'unauthorized']);
    expect(missing.error?.message).toMatch(/^authentication required: send Authorization: Bearer <token>/);
    for (const authorization of ['Basic YWxpY2U6c2VjcmV0', 'Bearer', 'Bearer a b', await token()]) {
      const reply = await call('/api/runs', { authorization });
      expect([reply.status, reply.challenge, reply.error?.message]).toEqual([401, 'Bearer realm="golive"', 'malformed Authorization header: it must be `Bearer <token>`']);
    }
  });

  it('answers forged, unknown, expired and revoked tokens alike, never saying which part was wrong', async () => {
    const real = await token();
    const id = real.split('_')[1] ?? '';
    const revoked = await token();
    await identity.revokeToken(revoked.split('_')[1] ?? '', operator);
    const candidates = {
      forged: `glv_${id}_${'A'.repeat(43)}`,
      unknown: `glv_${'f'.repeat(12)}_${real.slice(-43)}`,
      expired: await token(uniqueId('alice'), new Date(Date.now() - 1_000)),
      revoked,
      truncated: real.slice(0, -3),
      garbage: 'not-a-token',
    };
    for (const [kind, candidate] of Object.entries(candidates)) {
      const reply = await call('/api/runs', { token: candidate });
      expect({ kind, status: reply.status, challenge: reply.challenge, error: reply.error }).toEqual({
        kind, status: 401, challenge: 'Bearer realm="golive", error="invalid_token"', error: { code: 'unauthorized', message: INVALID },
      });
    }
  });

  it('needs no token for probes, metrics and the OpenAPI document', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/api/openapi.json']) expect([path, (await call(path)).status]).toEqual([path, 200]);
  });

  it('guards paths no route serves too, so a caller without a token learns nothing about routes', async () => {
    expect((await call('/api/nothing-here')).status).toBe(401);
    expect((await call('/api/nothing-here', { token: await token() })).status).toBe(404);
  });
});

describe('OIDC bearer JWTs', () => {
  it('accepts a JWT from the issuer for the audience, with any published key, as the user its sub names', async () => {
    for (const key of oidc.keys) {
      const reply = await call('/api/runs', { token: await oidc.sign({ sub: `oidc-${key.alg}` }, { key }) });
      expect([key.alg, reply.status]).toEqual([key.alg, 200]);
    }
  });

  it('refuses a wrong issuer or audience, an expired token, a forged signature and a shared-secret algorithm', async () => {
    const now = Math.floor(Date.now() / 1_000);
    const [published] = oidc.keys;
    const candidates = {
      'wrong issuer': await oidc.sign({ sub: 'mallory' }, { issuer: 'https://login.example.com/realms/ops' }),
      'wrong audience': await oidc.sign({ sub: 'mallory' }, { audience: 'another-api' }),
      expired: await oidc.sign({ sub: 'mallory', iat: now - 600, exp: now - 120 }),
      'unknown key': await oidc.sign({ sub: 'mallory' }, { key: await oidc.foreignKey('RS256', 'rsa-2') }),
      'published kid, other key': await oidc.sign({ sub: 'mallory' }, { key: await oidc.foreignKey('RS256', published?.kid ?? 'rsa-1') }),
      'no expiry': await new SignJWT({ sub: 'mallory' }).setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' }).setIssuer(oidc.issuer).setAudience(AUDIENCE).sign(published!.privateKey),
      HS256: await new SignJWT({ sub: 'mallory', exp: now + 300 }).setProtectedHeader({ alg: 'HS256' }).setIssuer(oidc.issuer).setAudience(AUDIENCE).sign(new TextEncoder().encode('a shared secret of thirty-two bytes!')),
    };
    for (const [kind, jwt] of Object.entries(candidates)) {
      const reply = await call('/api/runs', { token: jwt });
      expect({ kind, status: reply.status, error: reply.error }).toEqual({ kind, status: 401, error: { code: 'unauthorized', message: INVALID } });
    }
  });

  it('names the user claim when a valid token lacks it', async () => {
    for (const claims of [{}, { sub: '' }]) {
      const reply = await call('/api/runs', { token: await oidc.sign(claims) });
      expect(reply.status).toBe(401);
      expect(reply.error?.message).toMatch(/^the token's sub claim must be a non-empty string/);
    }
    const byEmail = await serve({ issuer: oidc.issuer, audience: AUDIENCE, userClaim: 'email', jwksUrl: oidc.jwksUrl });
    expect((await call('/api/runs', { on: byEmail, token: await oidc.sign({ sub: 'x', email: 'ana@example.com' }) })).status).toBe(200);
    const missing = await call('/api/runs', { on: byEmail, token: await oidc.sign({ sub: 'x' }) });
    expect([missing.status, missing.error?.message]).toEqual([401, expect.stringMatching(/^the token's email claim must be a non-empty string/)]);
  });

  it('refuses every JWT when no OIDC provider is configured, and answers 503 when the provider cannot be reached', async () => {
    const tokensOnly = await serve();
    expect((await call('/api/runs', { on: tokensOnly, token: await oidc.sign({ sub: 'ana' }) })).error).toEqual({ code: 'unauthorized', message: INVALID });
    const unreachable = await serve({ issuer: 'http://127.0.0.1:9/realms/ops', audience: AUDIENCE, userClaim: 'sub' });
    const reply = await call('/api/runs', { on: unreachable, token: await oidc.sign({ sub: 'ana' }) });
    expect([reply.status, reply.error?.code]).toEqual([503, 'unavailable']);
  });
});

describe('request bodies', () => {
  it('refuses an actor or roles in a body, naming the field and saying the actor is the token\'s user', async () => {
    const reply = await call('/api/runs', { method: 'POST', token: await token(), body: { runbook: 'orders-failover', actor: 'ivan' } });
    expect(reply.status).toBe(400);
    expect(reply.error).toEqual({ code: 'bad_request', message: expect.stringMatching(/^body: unknown field "actor" .*the actor is the token's user/) });
    const control = await call('/api/runs/some-run/approve', { method: 'POST', token: await token(), body: { roles: ['approver'] } });
    expect([control.status, control.error?.message]).toEqual([400, expect.stringMatching(/^body: unknown field "roles"/)]);
  });

  it('answers 404 naming the runbooks it knows for an unknown runbook, skipping invalid files with a log line', async () => {
    const reply = await call('/api/runs', { method: 'POST', token: await token(), body: { runbook: 'orders-failovr' } });
    expect(reply).toMatchObject({ status: 404, body: { error: { code: 'not_found', message: "no runbook named orders-failovr in the server's runbooks folder (known: orders-failover)" } } });
    const skipped = logged().find((entry) => entry.msg.startsWith('skipped an invalid runbook file'));
    expect(skipped?.file).toBe(join(runbooksDir, 'broken.yaml'));
  });

  it('names a missing or wrong field, and refuses bodies over 64 KiB', async () => {
    const missing = await call('/api/runs', { method: 'POST', token: await token(), body: { comment: 'go' } });
    expect([missing.status, missing.error?.message]).toEqual([400, expect.stringMatching(/^runbook: /)]);
    const large = await call('/api/runs', { method: 'POST', token: await token(), body: { runbook: 'orders-failover', comment: 'x'.repeat(70_000) } });
    expect([large.status, large.error?.code]).toEqual([413, 'payload_too_large']);
  });
});

describe('/api/openapi.json', () => {
  it('is a valid OpenAPI document of every route, with bearer auth as its security scheme', async () => {
    const reply = await call('/api/openapi.json');
    const document = OpenApiDocument.parse(reply.body);
    expect(document.openapi).toBe('3.1.0');
    const routes = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    expect(routes.sort()).toEqual([
      'GET /api/checklists/runs', 'GET /api/checklists/runs/{id}',
      'GET /api/drills', 'GET /api/drills/{runId}', 'GET /api/failovers', 'GET /api/failovers/{id}', 'GET /api/posture',
      'GET /api/rollouts', 'GET /api/rollouts/{id}', 'GET /api/runs', 'GET /api/runs/{id}', 'GET /api/runs/{id}/timeline',
      'GET /healthz', 'GET /metrics', 'GET /readyz', 'POST /api/checklists/runs', 'POST /api/failovers', 'POST /api/rollouts',
      ...['abort', 'approve', 'pause', 'promote', 'reject', 'resume', 'rollback'].map((control) => `POST /api/rollouts/{id}/${control}`),
      'POST /api/runs',
      ...['abort', 'approve', 'pause', 'promote', 'reject', 'resume', 'rollback', 'skip', 'waive'].map((control) => `POST /api/runs/{id}/${control}`),
    ].sort());
    expect(document.components.securitySchemes).toEqual({ bearerAuth: expect.objectContaining({ type: 'http', scheme: 'bearer' }) });
    expect(document.security).toEqual([{ bearerAuth: [] }]);
    expect(document.paths['/healthz']?.get?.security).toEqual([]);

    const motoServer = loadToolchain().motoServer;
    const validator = motoServer && join(dirname(motoServer), 'openapi-spec-validator');
    if (validator && existsSync(validator)) {
      const file = join(runbooksDir, '..', `${uniqueId('openapi')}.json`);
      await writeFile(file, reply.text);
      const { stdout } = await promisify(execFile)(validator, [file]);
      await rm(file, { force: true });
      expect(stdout).toContain('OK');
    }
  });
});

describe('audit of API requests', () => {
  it('logs each change with the token\'s user', async () => {
    const user = uniqueId('logged');
    await call('/api/runs', { method: 'POST', token: await token(user), body: { runbook: 'nope' } });
    const entry = logged().find((line) => line.msg === 'api request' && line.user === user);
    expect(entry).toMatchObject({ path: '/api/runs', status: 404, user });
  });
});
