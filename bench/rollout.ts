/**
 * Guard breach to rollback, on the local go-live stage (runtime/rollout-stage.ts: the checkout app
 * asking golive's flag over OFREP under load, Prometheus scraping it every second). Each round
 * starts a rollout of the demo plan's flag straight at 50% (no gate, the demo plan's guard),
 * waits for a good guard reading, injects errors for users on the new checkout, and times from
 * the injection to:
 * - the first breaching sample: the first moment Prometheus answers the guard's query above its
 *   max (a range query on a 50 ms grid after the round);
 * - the guard tripping: its `guard.tripped` audit event;
 * - the flag at 0% as OFREP answers it to the app.
 * The floor is interval × failureLimit: the least time a guard with these settings can need
 * once it reads every `interval` and needs `failureLimit` breaches in a row.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../config/env.ts';
import { durationMs } from '../definitions/duration.ts';
import { loadRolloutPlan } from '../definitions/load.ts';
import type { RoleMap } from '../definitions/roles.ts';
import type { RolloutPlan } from '../definitions/schema.ts';
import { connectClient, createPool } from '../runtime/connections.ts';
import { createLogger } from '../runtime/logger.ts';
import { createRoleDirectory } from '../runtime/roles.ts';
import { startRolloutStage, type RolloutStage } from '../runtime/rollout-stage.ts';
import { startRollout } from '../runtime/rollouts.ts';
import { startServices } from '../runtime/services.ts';
import { ensureDatabase, startPostgres } from '../stack/postgres.ts';
import { startTemporalDevServer } from '../stack/temporal.ts';
import { loadToolchain, requireTool } from '../stack/toolchain.ts';
import { createFlagStore } from '../store/flags.ts';
import { createPgRunStore, type RunStore } from '../store/runs.ts';
import { ROLLOUT_FINISHED, rolloutQuery } from '../workflows/definitions.ts';
import { percentile } from './stats.ts';

const ROUNDS = Number(process.env.BENCH_RUNS ?? 5);
const PLAN_FILE = fileURLToPath(new URL('../rollouts/orders-new-checkout-demo.yaml', import.meta.url));
const RELEASE_MANAGER = 'bench-release-manager';
const ROLES: RoleMap = { [RELEASE_MANAGER]: ['release-manager'] };
const TASK_QUEUE = 'bench-rollout';
const REQUESTS_PER_SECOND = 80;
const GRID_MS = 50;

interface Round {
  sampleMs: number;
  trippedMs: number;
  flagMs: number;
  /** Mean time between the guard's breach readings: its real interval. */
  tickMs: number;
}

type Client = Awaited<ReturnType<typeof connectClient>>;

/** golive as `golive dev` runs it, for one benchmark: a client, its records, its server, its Postgres, a scratch folder. */
interface Golive {
  client: Client;
  store: RunStore;
  pool: ReturnType<typeof createPool>;
  serverUrl: string;
  scratch: string;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function poll<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; ; await sleep(GRID_MS)) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs / 1000}s`);
  }
}

/** The demo plan straight at 50% with a bake no round outlasts, then 100%; no gate: the benchmark is about the guard. */
async function benchPlan(): Promise<RolloutPlan> {
  const plan = await loadRolloutPlan(PLAN_FILE);
  return { ...plan, spec: { ...plan.spec, checklist: undefined, phases: [{ percent: 50, bake: '10m' }, { percent: 100, bake: '1s' }] } };
}

/** When Prometheus first answered the guard's query above max after `from`, on a GRID_MS grid. */
async function firstBreach(stage: RolloutStage, plan: RolloutPlan, from: number, to: number): Promise<number> {
  const guard = plan.spec.guards[0]!;
  const points = await stage.prometheus.range(guard.query, new Date(from), new Date(to), GRID_MS);
  const breach = points.find(([at, value]) => at >= from && value > (guard.max ?? Infinity));
  if (!breach) throw new Error(`Prometheus has no breaching value of ${guard.name} between the injection and the trip`);
  return breach[0];
}

async function round(client: Client, store: RunStore, stage: RolloutStage, plan: RolloutPlan): Promise<Round> {
  const guard = plan.spec.guards[0]!;
  // The previous round's errors leave the guard's window before this one starts.
  await poll(async () => ((await stage.errorShare()) === 0 ? true : undefined), 30_000, 'the 5xx share did not fall back to 0');
  const runId = await startRollout(client, createRoleDirectory(ROLES), { plan, requestedBy: RELEASE_MANAGER, channel: 'cli', source: 'bench', taskQueue: TASK_QUEUE });
  const handle = client.workflow.getHandle(runId);
  await poll(async () => {
    const record = await handle.query(rolloutQuery);
    if (ROLLOUT_FINISHED.includes(record.status)) throw new Error(`rollout ${runId} ended ${record.status} before the errors: ${record.reason ?? 'no reason recorded'}`);
    const setAt = record.phases[0]?.startedAt;
    return setAt && record.guards.some((reading) => reading.ok === true && reading.at > setAt) ? true : undefined;
  }, 30_000, `rollout ${runId} read no good guard value at 50%`);
  await stage.waitForFlag(50);
  // Anywhere between two scrapes and two guard readings, as a real bug would start.
  await sleep(Math.random() * durationMs(guard.interval));
  const injectedAt = stage.injectErrors(true);
  const flagAt = await stage.waitForFlag(0);
  stage.injectErrors(false);
  const events = await poll(async () => {
    const found = await store.events(runId);
    return found.some((event) => event.action === 'guard.tripped') ? found : undefined;
  }, 30_000, `rollout ${runId} recorded no guard.tripped`);
  await handle.result().catch(() => undefined);
  const trippedAt = Date.parse(events.find((event) => event.action === 'guard.tripped')!.at);
  const breaches = events.filter((event) => event.action === 'guard.breached').map((event) => Date.parse(event.at));
  const sampleAt = await firstBreach(stage, plan, injectedAt, trippedAt);
  return {
    sampleMs: sampleAt - injectedAt,
    trippedMs: trippedAt - injectedAt,
    flagMs: flagAt - injectedAt,
    tickMs: breaches.length > 1 ? (breaches.at(-1)! - breaches[0]!) / (breaches.length - 1) : Number.NaN,
  };
}

/** One measurement's p50 and max, and their ratios to `against` (the floor, or the guard's interval) when given. */
function line(label: string, values: readonly number[], against?: { name: string; ms: number }): string {
  const [p50, max] = [percentile(values, 0.5), Math.max(...values)];
  const ratio = against ? `   ÷ ${against.name} p50 ${(p50 / against.ms).toFixed(2)} max ${(max / against.ms).toFixed(2)}` : '';
  return `  ${label.padEnd(40)}p50 ${p50.toFixed(0).padStart(5)} ms   max ${max.toFixed(0).padStart(5)} ms${ratio}   rounds (ms): ${values.map((value) => value.toFixed(0)).join(', ')}`;
}

/** Temporal, Postgres, golive's worker and HTTP server (OFREP) as `golive dev` runs them, in a scratch folder. */
async function withGolive(work: (golive: Golive) => Promise<void>): Promise<void> {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // Another benchmark of this process installed it already, as quiet.
  }
  const toolchain = loadToolchain();
  const scratch = await mkdtemp(join(tmpdir(), 'golive-bench-rollout-'));
  await chmod(scratch, 0o755);
  const temporal = await startTemporalDevServer({ cli: requireTool(toolchain, 'temporal'), uiPort: null });
  const cluster = await startPostgres({ pgBin: requireTool(toolchain, 'pgBin'), dataDir: join(scratch, 'pg') });
  try {
    const databaseUrl = await ensureDatabase(cluster.url, 'golive');
    const config = { ...loadConfig({ GOLIVE_HOME: scratch, GOLIVE_LOG_LEVEL: 'error' }), roles: ROLES };
    const endpoints = { temporalAddress: temporal.address, databaseUrl };
    const services = await startServices(config, endpoints, { worker: true, http: true, httpPort: 0, taskQueue: TASK_QUEUE, logger: createLogger('silent', 'golive-bench') });
    const client = await connectClient(config, temporal.address);
    const pool = createPool(databaseUrl);
    try {
      await work({ client, store: createPgRunStore(pool), pool, serverUrl: services.http!.url, scratch });
    } finally {
      await client.connection.close();
      await pool.end();
      await services.stop();
    }
  } finally {
    await cluster.stop();
    await temporal.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

export async function benchRollout(): Promise<void> {
  const plan = await benchPlan();
  const guard = plan.spec.guards[0]!;
  const floorMs = durationMs(guard.interval) * guard.failureLimit;
  await withGolive(async ({ client, store, pool, serverUrl, scratch }) => {
    const key = await createFlagStore(pool).createKey({ name: 'bench-checkout', environment: plan.spec.flag.environment }, { name: 'bench', channel: 'cli' });
    const stage = await startRolloutStage({
      home: join(scratch, 'rollout'), prometheusBin: requireTool(loadToolchain(), 'prometheus'),
      ofrepUrl: serverUrl, flagReadKey: key.secret, service: plan.metadata.service, flagKey: plan.spec.flag.key, requestsPerSecond: REQUESTS_PER_SECOND,
    });
    try {
      Object.assign(process.env, stage.env);
      const rounds: Round[] = [];
      for (let index = 0; index < ROUNDS; index += 1) rounds.push(await round(client, store, stage, plan));
      const budgetMs = floorMs + 2_000;
      console.log(`guard breach to rollback on the local go-live stage (checkout app at ${REQUESTS_PER_SECOND} requests/s over OFREP, Prometheus scraping every 1s); guard ${guard.name}: every ${guard.interval}, failureLimit ${guard.failureLimit}, max ${guard.max}; ${ROUNDS} rounds at 50%:`);
      const floor = { name: 'floor', ms: floorMs };
      console.log(line('injection → first breaching sample', rounds.map((one) => one.sampleMs)));
      console.log(line('injection → guard tripped (audit event)', rounds.map((one) => one.trippedMs), floor));
      console.log(line('injection → flag at 0% (OFREP answer)', rounds.map((one) => one.flagMs), floor));
      console.log(line('first breaching sample → flag at 0%', rounds.map((one) => one.flagMs - one.sampleMs), floor));
      console.log(line('guard reading to reading while breached', rounds.map((one) => one.tickMs), { name: 'interval', ms: durationMs(guard.interval) }));
      console.log(`  floor interval × failureLimit = ${floorMs} ms; budget floor + 2 s = ${budgetMs} ms: met in ${rounds.filter((one) => one.flagMs <= budgetMs).length}/${ROUNDS} rounds`);
    } finally {
      await stage.stop();
    }
  });
}
