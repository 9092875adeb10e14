import { Gauge } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import type { FlagStore } from '../../store/flags.ts';
import { rollbackUpdate, rolloutQuery, type RolloutRecord } from '../../workflows/definitions.ts';
import { createEngineHarness, type EngineHarness } from '../support/engine.ts';
import { until } from '../support/poll.ts';
import { startMetricsEndpoint, startPrometheus, type MetricsEndpoint, type PrometheusServer } from '../support/prometheus.ts';
import { finalRollout, rolloutInput, rolloutPlan, startRollout, startRolloutWorker } from '../support/rollout.ts';

let harness: EngineHarness;
let app: MetricsEndpoint;
let prometheus: PrometheusServer;
let errorRatio: Gauge;
let flags: FlagStore;
let rollbacks: RolloutRecord[];

beforeAll(async () => {
  app = await startMetricsEndpoint();
  errorRatio = new Gauge({ name: 'checkout_error_ratio', help: 'share of checkout requests answered with a 5xx', registers: [app.registry] });
  errorRatio.set(0);
  prometheus = await startPrometheus(requireTool(loadToolchain(), 'prometheus'), [app.address]);
  await prometheus.waitForData('checkout_error_ratio');
  harness = await createEngineHarness('rollout_guards');
  ({ flags, rollbacks } = await startRolloutWorker(harness));
});

afterAll(async () => {
  await harness?.close();
  await prometheus?.stop();
  await app?.close();
});

const guard = (overrides: Record<string, unknown> = {}) => ({
  name: 'error-rate', target: 'metrics', query: 'max(checkout_error_ratio)', max: 0.05, interval: '1s', failureLimit: 3, ...overrides,
});
const targets = () => ({ metrics: { type: 'prometheus', url: prometheus.url } });
const percentOf = async (key: string) => (await flags.get(key, 'production'))?.percent;

it('a healthy rollout reaches 100% with every guard reading inside its threshold', async () => {
  errorRatio.set(0.01);
  const plan = rolloutPlan({ targets: targets(), phases: [{ percent: 10, bake: '3s' }, { percent: 50, bake: '3s' }, { percent: 100, bake: '2s' }], guards: [guard()] });
  const record = await finalRollout(harness.client, await startRollout(harness, rolloutInput(plan)));
  expect(record.status).toBe('succeeded');
  expect(record.percent).toBe(100);
  expect(record.guards).toEqual([expect.objectContaining({ name: 'error-rate', value: 0.01, threshold: '> 0.05', ok: true, breaches: 0 })]);
  expect(await percentOf(plan.spec.flag.key)).toBe(100);
});

it('an error spike at 50% trips the guard and rolls the flag back to 0 within interval × failureLimit + 2 s', async () => {
  errorRatio.set(0);
  const plan = rolloutPlan({ targets: targets(), phases: [{ percent: 10, bake: '2s' }, { percent: 50, bake: '2m' }, { percent: 100, bake: '1s' }], guards: [guard({ interval: '2s' })] });
  const runId = await startRollout(harness, rolloutInput(plan));
  await until(async () => ((await percentOf(plan.spec.flag.key)) === 50 ? true : undefined), 30_000, 'the rollout never reached 50%');
  const spikeAt = Date.now();
  errorRatio.set(0.3);
  await until(async () => ((await percentOf(plan.spec.flag.key)) === 0 ? true : undefined), 30_000, 'the flag was never rolled back');
  const tookMs = Date.now() - spikeAt;
  expect(tookMs).toBeLessThanOrEqual(2_000 * 3 + 2_000);
  const record = await finalRollout(harness.client, runId);
  expect(record.status).toBe('rolled-back');
  expect(record.rolledBack).toMatchObject({ from: 50, to: 0, by: 'golive' });
  expect(record.reason).toMatch(/^guard error-rate breached 3 times in a row \(last value 0\.3; it breaches at > 0\.05\), checked every 2s$/);
  expect(record.phases.map((phase) => phase.status)).toEqual(['rolled-back', 'rolled-back', 'pending']);
  console.log(`guard breach to rollback: error injected → flag at 0 in ${tookMs} ms (budget ${2_000 * 3 + 2_000} ms)`);
  expect(rollbacks.map((entry) => entry.runId)).toContain(runId);
  const actions = (await harness.store.events(runId)).map((event) => event.action);
  expect(actions.filter((action) => action === 'guard.breached')).toHaveLength(3);
  expect(actions).toContain('guard.tripped');
  errorRatio.set(0);
});

it('a guard without data holds the rollout for a person; a rollback control then takes the flag back', async () => {
  const plan = rolloutPlan({
    targets: targets(),
    phases: [{ percent: 20, bake: '2m' }, { percent: 100, bake: '1s' }],
    guards: [guard({ name: 'latency', query: 'max(checkout_latency_seconds_that_nobody_exports)', inconclusiveLimit: 2 })],
  });
  const runId = await startRollout(harness, rolloutInput(plan));
  const handle = harness.client.workflow.getHandle(runId);
  const held = await until(async () => {
    const live = await handle.query(rolloutQuery);
    return live.status === 'paused' ? live : undefined;
  }, 30_000, 'the rollout never held');
  expect(held.guards[0]).toMatchObject({ name: 'latency', value: null, ok: null, error: 'no data' });
  expect(held.percent).toBe(20);
  await handle.executeUpdate(rollbackUpdate, { args: [{ actor: 'rob', channel: 'cli', comment: 'no latency data, not worth the risk' }] });
  const record = await finalRollout(harness.client, runId);
  expect(record.status).toBe('rolled-back');
  expect(record.reason).toBe('rolled back by rob: no latency data, not worth the risk');
  expect(record.rolledBack).toMatchObject({ from: 20, to: 0, by: 'rob' });
  expect(await percentOf(plan.spec.flag.key)).toBe(0);
  expect((await harness.store.events(runId)).map((event) => event.action)).toEqual(expect.arrayContaining(['rollout.held', 'control.rollback']));
});
