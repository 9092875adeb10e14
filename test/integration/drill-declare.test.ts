import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOURCE_CLOCK_TIMEOUT_MS } from '../../activities/drill/declare.ts';
import type { Target } from '../../definitions/targets.ts';
import { actionRequest, testActivities } from '../support/actions.ts';
import { createTestDatabase } from '../support/db.ts';
import { runSql } from '../support/sql.ts';

let source: { url: string; drop(): Promise<void> };
/** A TCP server that accepts connections and never answers: a source that hangs. */
let silent: Server;
const sockets: Socket[] = [];

beforeAll(async () => {
  source = await createTestDatabase('drill_declare');
  silent = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent?.close(resolve));
  await source?.drop();
});

const postgres = (url: string): { name: string; spec: Target } => ({ name: 'orders-db', spec: { type: 'postgres', url } });

/** drill.declare as the worker runs it, through the action catalog. */
async function declareOn(target: { name: string; spec: Target }, env: Record<string, string> = {}) {
  const started = Date.now();
  const result = await testActivities(env)['drill.declare'](actionRequest('drill.declare', {}, { target, stepId: 'declare-disaster' }));
  return { result, started, took: Date.now() - started };
}

describe('drill.declare', () => {
  it("reads the source database's clock at T_d and reports the skew against the worker's", async () => {
    const { result, started, took } = await declareOn(postgres(source.url));
    expect(result).toMatchObject({ sourceReachable: true, sourceClock: expect.any(String), skewMs: expect.any(Number), roundTripMs: expect.any(Number) });
    const declaredAt = Date.parse(String(result.declaredAt));
    expect(declaredAt).toBeGreaterThanOrEqual(started);
    expect(declaredAt).toBeLessThanOrEqual(started + took);
    // Worker and database share this machine's clock: the skew is what the round trip leaves unknown.
    expect(Math.abs(Number(result.skewMs))).toBeLessThanOrEqual(Number(result.roundTripMs) / 2 + 5);
    const sourceClock = Date.parse(String(result.sourceClock));
    expect(sourceClock).toBeGreaterThanOrEqual(declaredAt - 5);
    expect(sourceClock).toBeLessThanOrEqual(started + took + 5);
    expect(result.note).toBeUndefined();
    const { rows } = await runSql<{ now: Date }>(source.url, 'SELECT clock_timestamp() AS now');
    expect(rows[0]!.now.getTime()).toBeGreaterThanOrEqual(sourceClock);
  });

  it('falls back to the worker clock at once when the source refuses connections, and does not fail', async () => {
    const { result, started, took } = await declareOn(postgres('postgres://golive@127.0.0.1:1/orders'));
    expect(result).toMatchObject({ sourceReachable: false, sourceClock: null, skewMs: null, roundTripMs: null });
    expect(result.note).toMatch(/^cannot read the clock of source orders-db \(.*ECONNREFUSED.*\); T_d and RPO are on the worker clock$/);
    expect(Date.parse(String(result.declaredAt))).toBeGreaterThanOrEqual(started);
    expect(took).toBeLessThan(1_000);
  });

  it(`gives up on a source that does not answer after ${SOURCE_CLOCK_TIMEOUT_MS} ms, keeping T_d from before it waited`, async () => {
    const address = silent.address();
    if (address === null || typeof address === 'string') throw new Error('the silent server has no TCP address');
    const { result, started, took } = await declareOn(postgres(`postgres://golive@127.0.0.1:${address.port}/orders`));
    expect(result).toMatchObject({ sourceReachable: false, sourceClock: null, skewMs: null });
    expect(result.note).toMatch(/timeout/i);
    expect(took).toBeGreaterThanOrEqual(SOURCE_CLOCK_TIMEOUT_MS - 100);
    expect(took).toBeLessThan(SOURCE_CLOCK_TIMEOUT_MS + 2_000);
    expect(Date.parse(String(result.declaredAt)) - started).toBeLessThan(100);
  });

  it('falls back, naming the variable, when the source URL is not set on this worker', async () => {
    const { result } = await declareOn({ name: 'orders-db', spec: { type: 'postgres', url: '${DR_SOURCE_URL}' } });
    expect(result).toMatchObject({ sourceReachable: false, skewMs: null });
    expect(result.note).toMatch(/^cannot read the clock of source orders-db \(.*DR_SOURCE_URL.*\); T_d and RPO are on the worker clock$/);
  });
});
