import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bucketOf, inRollout } from '../../definitions/flag-eval.ts';
import { loadChecklist, loadRolloutPlan } from '../../definitions/load.ts';
import { startFlagCache, type FlagCache } from '../../runtime/flag-cache.ts';
import { createRoleDirectory } from '../../runtime/roles.ts';
import { errorShareQuery, GUARD_WINDOW, STAGE_ALERT, STAGE_SERVICE, startRolloutStage, type RolloutStage } from '../../runtime/rollout-stage.ts';
import { startHttpServer, type HttpServer } from '../../server/http.ts';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import { createFlagStore, type FlagStore } from '../../store/flags.ts';
import { createPgIdentityStore } from '../../store/identity.ts';
import { migrate } from '../../store/migrate.ts';
import { createPgProtectionStore } from '../../store/protection.ts';
import { createPgRunStore } from '../../store/runs.ts';
import { createTestDatabase, uniqueId } from '../support/db.ts';
import { until } from '../support/poll.ts';

/**
 * The go-live stage alone, against golive's real server and Postgres: the checkout app asks the
 * flag over OFREP with a flag-read key, Prometheus scrapes its metrics with the alert rules
 * loaded, and injected errors show in the 5xx share the demo's guard reads.
 */
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
let flags: FlagStore;
let cache: FlagCache;
let connection: Connection;
let server: HttpServer;
let home: string;
let stage: RolloutStage;
const flagKey = uniqueId('new-checkout');
const operator = { name: 'olga', channel: 'cli' as const };
const USERS = Array.from({ length: 40 }, (_, index) => `user-${String(index + 1).padStart(4, '0')}`);
const onNewCheckout = (user: string, percent: number) => inRollout(bucketOf(flagKey, user), percent);

const checkout = async (user: string) => {
  const response = await fetch(`${stage.app.url}/checkout?user=${user}`);
  return { status: response.status, body: (await response.json()) as { checkout: string; reason?: string } };
};
const setFlag = (percent: number) => flags.set({ key: flagKey, environment: 'production', percent, actor: 'rita', channel: 'api' });

beforeAll(async () => {
  database = await createTestDatabase('rollout_stage');
  pool = new pg.Pool({ connectionString: database.url });
  await migrate(pool);
  flags = createFlagStore(pool);
  cache = await startFlagCache(pool);
  connection = await Connection.connect({ address: inject('temporalAddress') });
  const identity = createPgIdentityStore(pool);
  server = await startHttpServer({
    store: createPgRunStore(pool), protection: createPgProtectionStore(pool), identity, roles: createRoleDirectory({}, identity), runbooksDir: 'runbooks',
    client: new Client({ connection }), pool, taskQueue: 'golive-rollout-stage-test', flags, flagCache: cache,
  }, { host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }) });
  const key = await flags.createKey({ name: 'checkout-app', environment: 'production' }, operator);
  home = await mkdtemp(join(tmpdir(), 'golive-rollout-stage-'));
  stage = await startRolloutStage({ home, prometheusBin: requireTool(loadToolchain(), 'prometheus'), ofrepUrl: server.url, flagReadKey: key.secret, flagKey, requestsPerSecond: 60 });
});

afterAll(async () => {
  await stage?.stop();
  await server?.close();
  await cache?.close();
  await connection?.close();
  await pool?.end();
  await database?.drop();
  if (home) await rm(home, { recursive: true, force: true });
});

describe('the go-live stage', () => {
  it('serves its health check, and the old checkout while golive has no such flag', async () => {
    expect((await fetch(`${stage.app.url}/healthz`)).status).toBe(200);
    expect(await checkout('user-0001')).toEqual({ status: 200, body: expect.objectContaining({ checkout: 'old', reason: 'ERROR' }) });
    expect(await stage.app.flagPercent()).toBeUndefined();
    expect(stage.env).toEqual({ DEMO_CHECKOUT_URL: stage.app.url, DEMO_PROMETHEUS_URL: stage.prometheus.url });
  });

  it('asks golive over OFREP for each user: at 50% the users golive buckets in get the new checkout', async () => {
    await setFlag(50);
    await stage.waitForFlag(50, 10_000);
    const served = await Promise.all(USERS.map(async (user) => (await checkout(user)).body.checkout));
    expect(served).toEqual(USERS.map((user) => (onNewCheckout(user, 50) ? 'new' : 'old')));
    expect(new Set(served)).toEqual(new Set(['new', 'old']));
  });

  it('its metrics reach Prometheus, with the alert the go-live checklist looks for loaded and evaluated', async () => {
    const requests = await stage.prometheus.value(`sum(http_requests_total{service="${STAGE_SERVICE}"})`);
    expect(requests).toBeGreaterThan(0);
    await until(async () => {
      const answer = (await (await fetch(`${stage.prometheus.url}/api/v1/rules?type=alert`)).json()) as { data: { groups: Array<{ rules: Array<{ name: string; health: string }> }> } };
      return answer.data.groups.flatMap((group) => group.rules).find((rule) => rule.name === STAGE_ALERT && rule.health === 'ok');
    }, 10_000, `${STAGE_ALERT} was never loaded and evaluated`);
  });

  it('injected errors reach users on the new checkout only, and show in the 5xx share within seconds', async () => {
    expect(await stage.errorShare()).toBe(0);
    const injectedAt = stage.injectErrors(true);
    try {
      const share = await until(async () => {
        const value = await stage.errorShare();
        return value !== undefined && value > 0.02 ? value : undefined;
      }, 5_000, 'the 5xx share never rose above 0.02', 100);
      expect(share).toBeLessThanOrEqual(1);
      const traffic = stage.app.traffic(injectedAt);
      expect(traffic.errors).toBeGreaterThan(0);
      expect(traffic.failedUsers).toBeLessThanOrEqual(traffic.newCheckoutUsers);
      expect(await checkout(USERS.find((user) => onNewCheckout(user, 50))!)).toMatchObject({ status: 500, body: { checkout: 'new' } });
      expect(await checkout(USERS.find((user) => !onNewCheckout(user, 50))!)).toMatchObject({ status: 200, body: { checkout: 'old' } });
    } finally {
      stage.injectErrors(false);
    }
    await setFlag(0);
    const backAt = await stage.waitForFlag(0, 10_000);
    await new Promise((done) => setTimeout(done, 500));
    expect(stage.app.traffic(backAt + 100)).toMatchObject({ errors: 0, newCheckoutUsers: 0 });
  });

  it('is what the demo plan guards and the demo checklist checks', async () => {
    const plan = await loadRolloutPlan(fileURLToPath(new URL('../../rollouts/orders-new-checkout-demo.yaml', import.meta.url)));
    expect(plan.spec.guards.map((guard) => guard.query)).toEqual([errorShareQuery(plan.metadata.service, GUARD_WINDOW)]);
    expect(plan.metadata.service).toBe(STAGE_SERVICE);
    const checklist = await loadChecklist(fileURLToPath(new URL(`../../checklists/${plan.spec.checklist}.yaml`, import.meta.url)));
    const rules = checklist.spec.phases.flatMap((phase) => phase.items).find((item) => item.check?.kind === 'action' && item.check.action === 'prometheus.rules');
    expect(rules?.check).toMatchObject({ with: { alerts: [STAGE_ALERT] } });
  });
});
