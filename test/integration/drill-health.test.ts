import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { parseInput } from '../../activities/call.ts';
import { health } from '../../activities/drill/health.ts';
import type { ActionRequest } from '../../activities/types.ts';
import type { Target } from '../../definitions/targets.ts';
import { actionRequest } from '../support/actions.ts';
import { createTestDatabase, uniqueId } from '../support/db.ts';
import { databaseUrl, runSql } from '../support/sql.ts';

let server: { url: string; drop(): Promise<void> };
let target: { name: string; spec: Target };
const scratch: string[] = [];

beforeAll(async () => {
  server = await createTestDatabase('drill_health');
  target = { name: 'recovery-server', spec: { type: 'postgres', url: server.url } };
});

afterAll(async () => {
  for (const name of scratch) await runSql(inject('postgresUrl'), `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  await server?.drop();
});

/** drill.health as the worker runs it: `with` parsed by the catalog, then the action. */
function runHealth(request: ActionRequest) {
  return health(parseInput('drill.health', request, {}));
}

function scratchName(prefix: string): string {
  const name = uniqueId(prefix).replace('-', '_');
  scratch.push(name);
  return name;
}

describe('drill.health', () => {
  it('passes at once on a healthy database with the default SELECT 1', async () => {
    const before = Date.now();
    const result = await runHealth(actionRequest('drill.health', {}, { target }));
    expect(result.attempts).toBe(1);
    expect(Date.parse(result.passedAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(result.passedAt)).toBeLessThanOrEqual(Date.now());
  });

  it('keeps polling until the table it reads appears, and reports when it first passed', async () => {
    const database = scratchName('health_late');
    await runSql(server.url, `CREATE DATABASE ${database}`);
    const sql = 'SELECT count(*) >= 0 FROM orders';
    const polling = runHealth(actionRequest('drill.health', { database, sql, within: '10s' }, { target }));
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const beforeCreate = Date.now();
    await runSql(databaseUrl(server.url, database), 'CREATE TABLE orders (id int)');
    const result = await polling;
    expect(result.attempts).toBeGreaterThanOrEqual(3);
    expect(Date.parse(result.passedAt)).toBeGreaterThanOrEqual(beforeCreate);
    expect(Date.parse(result.passedAt) - beforeCreate).toBeLessThan(700);
  });

  it('counts a false first column as failing, and heartbeats its progress', async () => {
    const environment = new MockActivityEnvironment();
    const beats: unknown[] = [];
    environment.on('heartbeat', (details: unknown) => beats.push(details));
    const failing = environment.run(runHealth, actionRequest('drill.health', { sql: 'SELECT false AS ready', within: '1200ms' }, { target }));
    const database = new URL(server.url).pathname.slice(1);
    await expect(failing).rejects.toMatchObject({
      type: 'HealthCheckFailed',
      nonRetryable: true,
      message: expect.stringMatching(
        new RegExp(`^drill\\.health on recovery-server: database ${database} did not pass "SELECT false AS ready" within 1200ms \\([34] attempts\\); last error: first column was false$`),
      ),
    });
    expect(beats.at(-1)).toEqual({ attempts: beats.length, lastError: 'first column was false' });
  });

  it('times out naming the database, the query, the attempts and the last error', async () => {
    const database = scratchName('health_never');
    await runSql(server.url, `CREATE DATABASE ${database}`);
    const started = Date.now();
    const failing = runHealth(actionRequest('drill.health', { database, sql: 'SELECT 1 FROM orders', within: '2s' }, { target }));
    await expect(failing).rejects.toMatchObject({
      type: 'HealthCheckFailed',
      message: expect.stringMatching(
        new RegExp(`^drill\\.health on recovery-server: database ${database} did not pass "SELECT 1 FROM orders" within 2s \\([45] attempts\\); last error: relation "orders" does not exist \\(SQLSTATE 42P01\\)$`),
      ),
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('fails at once, with the SQLSTATE and the reason, on SQL the server rejects', async () => {
    const started = Date.now();
    const failing = runHealth(actionRequest('drill.health', { sql: 'SELEC 1', within: '30s' }, { target }));
    const database = new URL(server.url).pathname.slice(1);
    await expect(failing).rejects.toMatchObject({
      type: 'HealthCheckFailed',
      nonRetryable: true,
      message: `drill.health on recovery-server: database ${database} cannot pass "SELEC 1": syntax error at or near "SELEC" (SQLSTATE 42601); waiting will not fix this`,
    });
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('fails at once on a database that does not exist and on a login the server refuses', async () => {
    const started = Date.now();
    const missing = runHealth(actionRequest('drill.health', { database: 'orders_never_restored', within: '30s' }, { target }));
    await expect(missing).rejects.toMatchObject({
      type: 'HealthCheckFailed',
      message: 'drill.health on recovery-server: database orders_never_restored cannot pass "SELECT 1": database "orders_never_restored" does not exist (SQLSTATE 3D000); waiting will not fix this',
    });
    const stranger = new URL(server.url);
    stranger.username = 'nobody_here';
    const refused = runHealth(actionRequest('drill.health', { within: '30s' }, { target: { name: 'recovery-server', spec: { type: 'postgres', url: stranger.toString() } } }));
    await expect(refused).rejects.toMatchObject({ type: 'HealthCheckFailed', message: expect.stringMatching(/ \(SQLSTATE 28[0-9A-Z]{3}\); waiting will not fix this$/) });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('stops polling at once when the activity is cancelled', async () => {
    const database = scratchName('health_cancel');
    await runSql(server.url, `CREATE DATABASE ${database}`);
    const environment = new MockActivityEnvironment();
    const polling = environment.run(runHealth, actionRequest('drill.health', { database, sql: 'SELECT 1 FROM orders', within: '30s' }, { target }));
    await new Promise((resolve) => setTimeout(resolve, 700));
    const cancelledAt = Date.now();
    environment.cancel();
    await expect(polling).rejects.toBeInstanceOf(CancelledFailure);
    expect(Date.now() - cancelledAt).toBeLessThan(300);
  });
});
