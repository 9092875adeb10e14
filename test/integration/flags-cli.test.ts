import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startFlagCache, type FlagCache } from '../../runtime/flag-cache.ts';
import { createRoleDirectory } from '../../runtime/roles.ts';
import { startHttpServer, type HttpServer } from '../../server/http.ts';
import { createFlagStore } from '../../store/flags.ts';
import { createPgIdentityStore } from '../../store/identity.ts';
import { migrate } from '../../store/migrate.ts';
import { createPgProtectionStore } from '../../store/protection.ts';
import { createPgRunStore } from '../../store/runs.ts';
import { golive } from '../support/cli.ts';
import { createTestDatabase, uniqueId } from '../support/db.ts';

/** `golive flags …` as people type it: on golive's Postgres as an operator, and through the API with a token. */
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
let cache: FlagCache;
let server: HttpServer;
let home: string;
const tokens: Record<string, string> = {};

/** An operator's shell on the database host. */
const operatorEnv = () => ({ PATH: process.env.PATH ?? '', HOME: home, GOLIVE_HOME: join(home, '.golive'), DATABASE_URL: database.url, GOLIVE_USER: 'olga' });
/** A laptop with golive's URL and a person's token, and nothing else. */
const remoteEnv = (user: string) => ({ PATH: process.env.PATH ?? '', HOME: home, GOLIVE_HOME: join(home, '.golive'), GOLIVE_URL: server.url, GOLIVE_TOKEN: tokens[user] ?? '' });
const cli = (args: string[], env: NodeJS.ProcessEnv) => golive(['flags', ...args], { env, cwd: home });

beforeAll(async () => {
  database = await createTestDatabase('flags_cli');
  pool = new pg.Pool({ connectionString: database.url });
  await migrate(pool);
  const identity = createPgIdentityStore(pool);
  for (const user of ['rita', 'adam']) tokens[user] = (await identity.createToken({ user }, { name: 'test-setup', channel: 'cli' })).token;
  cache = await startFlagCache(pool);
  server = await startHttpServer(
    {
      store: createPgRunStore(pool), protection: createPgProtectionStore(pool), identity, roles: createRoleDirectory({ rita: ['release-manager'], adam: ['approver'] }, identity),
      runbooksDir: '/nonexistent', client: new Client({ connection: Connection.lazy({ address: inject('temporalAddress') }) }), pool, taskQueue: uniqueId('flags-cli'),
      flags: createFlagStore(pool), flagCache: cache,
    },
    { host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }) },
  );
  home = await mkdtemp(join(tmpdir(), 'golive-flags-cli-'));
});

afterAll(async () => {
  await server?.close();
  await cache?.close();
  await pool?.end();
  await database?.drop();
  if (home) await rm(home, { recursive: true, force: true });
});

describe('golive flags on golive\'s Postgres', () => {
  it('sets, switches and shows a flag with who changed it, from → to', async () => {
    expect(await cli(['set', 'checkout', '--percent', '10', '--comment', 'first customers'], operatorEnv()))
      .toEqual({ code: 0, stdout: 'checkout in production: created at 10% (now on at 10%)\n', stderr: '' });
    expect((await cli(['set', 'checkout', '--percent', '12.5'], operatorEnv())).stdout).toBe('checkout in production: 10% → 12.5% (now on at 12.5%)\n');
    expect((await cli(['set', 'checkout', '--off'], operatorEnv())).stdout).toBe('checkout in production: on → off (now off (12.5% when on))\n');
    expect((await cli(['set', 'checkout', '--off'], operatorEnv())).stdout).toBe('checkout in production is already off (12.5% when on); nothing changed\n');

    const shown = await cli(['get', 'checkout'], operatorEnv());
    expect(shown.code).toBe(0);
    const lines = shown.stdout.split('\n');
    expect(lines[0]).toMatch(/^checkout in production: off \(12\.5% when on\), updated \S+ \S+ by olga$/);
    expect(lines[2]).toMatch(/^WHEN\s+WHO\s+CHANNEL\s+RUN\s+CHANGE\s+COMMENT$/);
    expect(lines.slice(3, 6).map((line) => line.split(/\s{2,}/).slice(1))).toEqual([
      ['olga', 'cli', 'on → off'],
      ['olga', 'cli', '10% → 12.5%'],
      ['olga', 'cli', 'created at 10%', 'first customers'],
    ]);

    const listed = await cli(['list', '--json'], operatorEnv());
    expect(JSON.parse(listed.stdout)).toEqual({ flags: [expect.objectContaining({ key: 'checkout', environment: 'production', enabled: false, percent: 12.5, updatedBy: 'olga' })] });
  });

  it('says what to type for bad input', async () => {
    const tooMuch = await cli(['set', 'checkout', '--percent', '150'], operatorEnv());
    expect([tooMuch.code, tooMuch.stderr]).toEqual([2, expect.stringContaining('give a percentage from 0 to 100 with at most two decimals, like --percent 25')]);
    const nothing = await cli(['set', 'checkout'], operatorEnv());
    expect([nothing.code, nothing.stderr]).toEqual([2, 'golive: say what to set: `golive flags set checkout --percent N` (0 to 100), `--on` or `--off`\n']);
    const unknown = await cli(['get', 'no-such-flag'], operatorEnv());
    expect([unknown.code, unknown.stderr]).toEqual([2,
      'golive: no flag no-such-flag in production: list flags with `golive flags list`, or create it with `golive flags set no-such-flag --percent 0 --environment production`\n']);
    const badName = await cli(['set', 'has space', '--percent', '5'], operatorEnv());
    expect([badName.code, badName.stderr]).toEqual([2, expect.stringContaining('flag key "has space" must be one word')]);
  });

  it('creates a flag-read key whose secret is printed once, lists and revokes it', async () => {
    const created = await cli(['keys', 'create', 'checkout-web', '--environment', 'staging'], operatorEnv());
    expect(created.code).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^glf_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toContain('it is shown this once: golive keeps only its hash');
    const id = secret.slice(4, 16);
    const listed = await cli(['keys', 'list'], operatorEnv());
    expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+checkout-web\\s+staging\\s+active\\s`, 'm'));
    expect(listed.stdout).not.toContain(secret);
    expect((await cli(['keys', 'revoke', id], operatorEnv())).stdout).toBe(`revoked flag-read key ${id} (checkout-web); OFREP servers refuse it within 30 s\n`);
    expect((await cli(['keys', 'list', '--json'], operatorEnv())).stdout).toContain('"revokedAt"');
    const unknown = await cli(['keys', 'revoke', 'nope'], operatorEnv());
    expect([unknown.code, unknown.stderr]).toEqual([2, 'golive: no flag-read key nope: list them with `golive flags keys list`\n']);
  });
});

describe('golive flags through the API', () => {
  it('refuses a set by someone who is not a release manager, with the reason', async () => {
    const refused = await cli(['set', 'search', '--percent', '5'], remoteEnv('adam'));
    expect([refused.code, refused.stderr]).toEqual([2,
      'golive: adam cannot change flag search: only a release manager may (adam holds approver); grant with `golive roles grant adam release-manager`\n']);
  });

  it('sets and shows a flag as the token\'s user, channel api', async () => {
    expect((await cli(['set', 'search', '--percent', '5', '--environment', 'staging'], remoteEnv('rita'))).stdout).toBe('search in staging: created at 5% (now on at 5%)\n');
    const shown = await cli(['get', 'search', '--environment', 'staging', '--json'], remoteEnv('adam'));
    expect(JSON.parse(shown.stdout)).toMatchObject({ flag: { key: 'search', percent: 5, updatedBy: 'rita' }, changes: [{ actor: 'rita', channel: 'api', to: { percent: 5 } }] });
    expect((await cli(['list', '--environment', 'staging'], remoteEnv('adam'))).stdout).toMatch(/^search\s+staging\s+on at 5%/m);
    const unknown = await cli(['get', 'nope'], remoteEnv('adam'));
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining('golive: no flag nope in environment production')]);
  });

  it('creates and revokes keys through the API as a release manager', async () => {
    const created = await cli(['keys', 'create', 'search-web', '--json'], remoteEnv('rita'));
    const key = JSON.parse(created.stdout) as { id: string; secret: string; createdBy: string };
    expect(key).toMatchObject({ secret: expect.stringMatching(/^glf_/), createdBy: 'rita' });
    expect((await cli(['keys', 'revoke', key.id], remoteEnv('adam'))).code).toBe(2);
    expect((await cli(['keys', 'revoke', key.id], remoteEnv('rita'))).stdout).toContain(`revoked flag-read key ${key.id} (search-web)`);
  });
});
