import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { createRoleDirectory } from '../../runtime/roles.ts';
import { DrillListShape, ErrorBody, RunListShape, RunStateShape, TimelineShape } from '../../server/api-schemas.ts';
import { startHttpServer, type HttpServer } from '../../server/http.ts';
import { createPgIdentityStore, type IdentityStore } from '../../store/identity.ts';
import { migrate } from '../../store/migrate.ts';
import { createPgProtectionStore } from '../../store/protection.ts';
import { createPgRunStore } from '../../store/runs.ts';
import { RUNBOOK_WORKFLOW } from '../../workflows/definitions.ts';
import { callApi, serverRunbook } from '../support/api.ts';
import { golive } from '../support/cli.ts';
import { createTestDatabase, uniqueId } from '../support/db.ts';
import { scriptedRun } from '../support/runs.ts';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
let identity: IdentityStore;
let connection: Connection;
let client: Client;
let server: HttpServer;
let home: string;
let token: string;
const taskQueue = uniqueId('remote-cli');
const started: string[] = [];
const [waiting, finished] = [uniqueId('orders-failover'), uniqueId('orders-failover')];

/** Only what a laptop talking to a golive server has: no DATABASE_URL, no TEMPORAL_ADDRESS, no `golive dev` here. */
const remoteEnv = (extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH ?? '', HOME: home, GOLIVE_HOME: join(home, '.golive'), GOLIVE_URL: server.url, GOLIVE_TOKEN: token, ...extra,
});
/** An operator's shell on the database host. */
const operatorEnv = (extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH ?? '', HOME: home, GOLIVE_HOME: join(home, '.golive'), DATABASE_URL: database.url, GOLIVE_USER: 'olga', ...extra,
});
const cli = (args: string[], env: NodeJS.ProcessEnv) => golive(args, { env, cwd: home });
const json = <T>(schema: z.ZodType<T>, stdout: string) => schema.parse(JSON.parse(stdout));

beforeAll(async () => {
  database = await createTestDatabase('remote_cli');
  pool = new pg.Pool({ connectionString: database.url });
  await migrate(pool);
  const store = createPgRunStore(pool);
  const now = Date.now();
  for (const batch of scriptedRun({ runId: finished, service: 'orders', outcome: 'succeeded', startedAt: new Date(now - 60_000) })) await store.project(batch);
  for (const batch of scriptedRun({ runId: waiting, service: 'orders', outcome: 'waiting-approval', startedAt: new Date(now) })) await store.project(batch);
  identity = createPgIdentityStore(pool);
  token = (await identity.createToken({ user: 'rita' }, { name: 'test-setup', channel: 'cli' })).token;
  home = await mkdtemp(join(tmpdir(), 'golive-remote-cli-'));
  const runbooksDir = join(home, 'server-runbooks');
  await mkdir(runbooksDir);
  await writeFile(join(runbooksDir, 'failover.yaml'), serverRunbook('remote-failover'));
  await writeFile(join(home, 'my-copy.yaml'), serverRunbook('remote-failover'));
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection });
  server = await startHttpServer(
    { store, protection: createPgProtectionStore(pool), identity, roles: createRoleDirectory({}, identity), runbooksDir, client, pool, taskQueue },
    { host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }) },
  );
});

afterAll(async () => {
  await Promise.all(started.map((runId) => client.workflow.getHandle(runId).terminate('test over').catch(() => undefined)));
  await server?.close();
  await connection?.close();
  await pool?.end();
  await database?.drop();
  if (home) await rm(home, { recursive: true, force: true });
});

describe('the CLI with GOLIVE_URL and GOLIVE_TOKEN', () => {
  it('lists runs, shows a run and its timeline through the API', async () => {
    const runs = await cli(['runs', '--json'], remoteEnv());
    expect(runs.code).toBe(0);
    expect(json(RunListShape, runs.stdout).runs.map((run) => run.runId)).toEqual([waiting, finished]);
    expect((await cli(['runs'], remoteEnv())).stdout).toMatch(/^RUN\s+KIND\s+STATUS/);

    const status = await cli(['status', waiting, '--json'], remoteEnv());
    expect(json(z.object({ status: z.string(), currentStep: z.string() }).loose(), status.stdout)).toMatchObject({ status: 'waiting-approval', currentStep: 'approve-failover' });
    const timeline = await cli(['timeline', waiting], remoteEnv());
    expect([timeline.code, timeline.stdout]).toEqual([0, expect.stringContaining('approval.requested')]);
  });

  it('refuses --as: the token says who you are', async () => {
    for (const args of [['approve', waiting, '--as', 'ivan'], ['run', 'remote-failover', '--as', 'ivan']]) {
      const result = await cli(args, remoteEnv());
      expect([result.code, result.stderr.trim()]).toEqual([2, 'golive: --as does not apply with GOLIVE_URL: the token says who you are (GOLIVE_TOKEN); unset GOLIVE_URL to act on the stack directly']);
    }
  });

  it('prints the API\'s message and exits 2 when the API refuses the request', async () => {
    const unknown = await cli(['status', 'no-such-run'], remoteEnv());
    expect([unknown.code, unknown.stderr.trim()]).toEqual([2, 'golive: no run no-such-run: list runs with `golive runs`']);
    const refusedJson = await cli(['status', 'no-such-run', '--json'], remoteEnv());
    expect([refusedJson.code, JSON.parse(refusedJson.stdout)]).toEqual([2, { error: { code: 'not_found', message: 'no run no-such-run: list runs with `golive runs`' } }]);
    const forged = await cli(['runs'], remoteEnv({ GOLIVE_TOKEN: `${token.slice(0, -4)}AAAA` }));
    expect([forged.code, forged.stderr.trim()]).toEqual([2, 'golive: the bearer token is invalid, expired or revoked']);
    const dir = await cli(['posture', '--dir', 'runbooks'], remoteEnv());
    expect([dir.code, dir.stderr]).toEqual([2, expect.stringContaining('--dir does not apply with GOLIVE_URL')]);
  });

  it('starts the server\'s copy of a runbook named directly or through a local file', async () => {
    for (const target of ['remote-failover', join(home, 'my-copy.yaml')]) {
      const result = await cli(['run', target, '--detach', '--comment', 'from a laptop'], remoteEnv());
      expect(result.code).toBe(0);
      expect(result.stderr).toContain('the server runs its own copy of runbook remote-failover, not a local file');
      const runId = result.stdout.trim();
      expect(result.stderr).toContain(`started run ${runId} on`);
      started.push(runId);
      const description = await client.workflow.getHandle(runId).describe();
      expect([description.type, description.taskQueue]).toEqual([RUNBOOK_WORKFLOW, taskQueue]);
    }
    const unknown = await cli(['run', 'remote-failovr', '--detach'], remoteEnv());
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining('no runbook named remote-failovr in the server\'s runbooks folder (known: remote-failover)')]);
  });

  it('reads drill history and posture through the API', async () => {
    const drills = await cli(['drill', 'history', '--json'], remoteEnv());
    expect([drills.code, json(DrillListShape, drills.stdout)]).toEqual([0, { drills: [] }]);
    const posture = await cli(['posture', '--json'], remoteEnv());
    expect([posture.code, json(z.object({ services: z.array(z.unknown()) }).loose(), posture.stdout).services]).toEqual([0, []]);
  });
});

describe('operator commands on golive\'s database', () => {
  const TokenAnswer = z.object({ token: z.string(), id: z.string(), user: z.string(), expiresAt: z.string() });
  const TokenRow = z.object({ id: z.string(), user: z.string(), status: z.string(), createdBy: z.string() }).loose();

  it('creates a token shown once, lists it without the secret, and revokes it', async () => {
    const created = await cli(['token', 'create', '--user', 'alice', '--expires', '30d', '--json'], operatorEnv());
    expect(created.code).toBe(0);
    const answer = json(TokenAnswer, created.stdout);
    expect(answer).toMatchObject({ user: 'alice', token: expect.stringMatching(/^glv_/) });
    expect(Date.parse(answer.expiresAt) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    expect((await callApi(server.url, '/api/runs', { token: answer.token })).status).toBe(200);

    const listed = await cli(['token', 'list', '--json'], operatorEnv());
    expect(listed.stdout).not.toContain(answer.token.slice(-43));
    expect(json(z.object({ tokens: z.array(TokenRow) }), listed.stdout).tokens.find((row) => row.id === answer.id)).toMatchObject({ user: 'alice', status: 'active', createdBy: 'olga' });

    const revoked = await cli(['token', 'revoke', answer.id], operatorEnv());
    expect([revoked.code, revoked.stdout.trim()]).toEqual([0, `revoked token ${answer.id} of alice`]);
    expect((await callApi(server.url, '/api/runs', { token: answer.token })).status).toBe(401);
    expect((await cli(['token', 'revoke', answer.id], operatorEnv())).stdout).toContain('was already revoked');
    expect((await cli(['token', 'revoke', '000000000000'], operatorEnv())).code).toBe(2);
    const events = await identity.adminEvents();
    expect(events.filter((event) => event.subject === answer.id).map(({ action, actor, channel }) => [action, actor, channel]))
      .toEqual([['token.revoked', 'olga', 'cli'], ['token.created', 'olga', 'cli']]);
  });

  it('prints a plain token on stdout for shell use, and refuses a bad expiry', async () => {
    const plain = await cli(['token', 'create', '--user', 'bob'], operatorEnv());
    expect(plain.stdout.trim()).toMatch(/^glv_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(plain.stderr).toContain('cannot be shown again');
    const bad = await cli(['token', 'create', '--user', 'bob', '--expires', 'soon'], operatorEnv());
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('--expires takes a duration like 30d or 12h')]);
  });

  it('grants, lists with their sources, and revokes roles', async () => {
    const env = operatorEnv({ GOLIVE_ROLES: 'alice=release-manager' });
    expect((await cli(['roles', 'grant', 'bob', 'approver'], env)).stdout.trim()).toBe('granted approver to bob');
    expect((await cli(['roles', 'grant', 'bob', 'approver'], env)).stdout).toContain('bob already holds approver (granted by olga');
    expect((await cli(['roles', 'grant', 'bob', 'admin'], env)).stderr).toContain('unknown role admin (known: release-manager, incident-commander, approver)');

    const listed = await cli(['roles', 'list', '--json'], env);
    expect(json(z.object({ roles: z.array(z.object({ user: z.string(), role: z.string(), source: z.string() }).loose()) }), listed.stdout).roles.map(({ user, role, source }) => [user, role, source]))
      .toEqual([['alice', 'release-manager', 'GOLIVE_ROLES'], ['bob', 'approver', 'database']]);

    expect((await cli(['roles', 'revoke', 'bob', 'approver'], env)).stdout.trim()).toBe('revoked approver from bob');
    const again = await cli(['roles', 'revoke', 'bob', 'approver'], env);
    expect([again.code, again.stderr]).toEqual([2, expect.stringContaining('bob holds no database grant of approver; nothing changed')]);
    const audited = (await identity.adminEvents()).filter((event) => event.subject === 'bob').map(({ action, actor }) => `${action} by ${actor}`);
    expect(audited).toEqual(['role.revoked by olga', 'role.granted by olga']);
  });

  it('says what it needs without a database', async () => {
    const result = await cli(['token', 'list'], { PATH: process.env.PATH ?? '', HOME: home, GOLIVE_HOME: join(home, '.golive') });
    expect([result.code, result.stderr]).toEqual([3, expect.stringContaining('set DATABASE_URL, or start `golive dev` in this folder')]);
  });
});

describe('one shape: the CLI\'s --json is the API\'s answer', () => {
  /** A shell on the stack itself: the CLI talks to Temporal and Postgres, not to the API. */
  const stackEnv = () => operatorEnv({ TEMPORAL_ADDRESS: inject('temporalAddress'), GOLIVE_TASK_QUEUE: taskQueue });
  const both = async <T>(shape: z.ZodType<T>, args: string[], path: string) => {
    const local = await cli([...args, '--json'], stackEnv());
    const remote = await cli([...args, '--json'], remoteEnv());
    const api = await callApi(server.url, path, { token });
    expect([local.code, remote.code, api.status], `${local.stderr}${remote.stderr}`).toEqual([0, 0, 200]);
    return { local: json(shape, local.stdout), remote: json(shape, remote.stdout), api: shape.parse(api.body) };
  };

  it('lists runs, a run and its timeline in the API\'s shapes', async () => {
    const runs = await both(RunListShape, ['runs', '--service', 'orders'], '/api/runs?service=orders');
    expect(runs.local.runs.map((run) => run.runId)).toEqual([waiting, finished]);
    expect([runs.local, runs.remote]).toEqual([runs.api, runs.api]);
    const state = await both(RunStateShape, ['status', finished], `/api/runs/${finished}`);
    expect([state.local, state.remote]).toEqual([state.api, state.api]);
    const timeline = await both(TimelineShape, ['timeline', finished], `/api/runs/${finished}/timeline`);
    expect(timeline.local.events.length).toBeGreaterThan(2);
    expect([timeline.local, timeline.remote]).toEqual([timeline.api, timeline.api]);
    const drills = await both(DrillListShape, ['drill', 'history'], '/api/drills');
    expect([drills.local, drills.remote]).toEqual([drills.api, drills.api]);
  });

  it('prints its version and those of the Temporal server, Postgres and schema it talks to; what it cannot reach it says, and still exits 0', async () => {
    const Version = z.object({
      golive: z.string(), node: z.string(), schema: z.string(),
      temporal: z.object({ at: z.string().optional(), version: z.string().optional(), error: z.string().optional() }),
      postgres: z.object({ at: z.string().optional(), version: z.string().optional(), schema: z.string().optional(), error: z.string().optional() }),
    });
    const reached = await cli(['--version', '--json'], stackEnv());
    const report = json(Version, reached.stdout);
    expect(reached.code).toBe(0);
    expect(report.temporal.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(report.postgres).toMatchObject({ version: expect.stringMatching(/^1\d\./), schema: report.schema });
    expect(report.golive).toBe(JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')).version);
    const text = await cli(['--version'], stackEnv());
    expect(text.stdout).toMatch(new RegExp(`^golive ${report.golive} \\(node v[\\d.]+\\)\ntemporal  \\d+\\.\\d+\\.\\d+ at 127\\.0\\.0\\.1:\\d+\npostgres  1\\d`));
    const alone = await cli(['--version', '--json'], operatorEnv({ DATABASE_URL: '' }));
    expect([alone.code, json(Version, alone.stdout).temporal.error]).toEqual([0, expect.stringContaining('no golive stack to talk to')]);
  });

  it('answers every failure with --json as the API\'s error body, exiting 2 for a mistake and 3 for an unreachable stack', async () => {
    const unknown = await cli(['status', 'no-such-run', '--json'], stackEnv());
    const api = await callApi(server.url, '/api/runs/no-such-run', { token });
    expect([unknown.code, json(ErrorBody, unknown.stdout)]).toEqual([2, { error: api.error }]);
    for (const args of [['runs', '--status', 'bogus', '--json'], ['runs', '--service', 'nosuch', '--json'], ['runs', '--limit', 'many', '--json'], ['posture', '--dir', join(home, 'nonexistent'), '--json']]) {
      const refused = await cli(args, stackEnv());
      expect([refused.code, json(ErrorBody, refused.stdout).error.code, refused.stderr], args.join(' ')).toEqual([2, 'bad_request', '']);
    }
    expect(json(ErrorBody, (await cli(['runs', '--service', 'nosuch', '--json'], stackEnv())).stdout).error.message).toContain('services with runs: orders');
    const bogus = await callApi(server.url, '/api/runs?status=bogus', { token });
    expect([bogus.status, bogus.error?.message]).toEqual([400, expect.stringContaining('waiting-approval')]);
    const down = await cli(['runs', '--json'], { ...stackEnv(), DATABASE_URL: 'postgres://golive@127.0.0.1:1/none', TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect([down.code, json(ErrorBody, down.stdout).error.code]).toEqual([3, 'unavailable']);
  });
});
