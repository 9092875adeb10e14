import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActionActivities } from '../../activities/catalog.ts';
import type { Target } from '../../definitions/targets.ts';
import { freePort, waitFor } from '../../stack/process.ts';
import { actionRequest } from '../support/actions.ts';
import { startCheckoutMetrics, type CheckoutMetrics } from '../support/prometheus.ts';

/** Alerting rules as a team ships them, one that errors on every evaluation, and a recording rule prometheus.rules leaves out. */
const RULES = `groups:
  - name: checkout
    rules:
      - alert: CheckoutErrorRateHigh
        expr: checkout_error_ratio > 0.05
        for: 5m
        labels: {severity: page}
        annotations: {summary: "checkout errors above 5%"}
      - alert: CheckoutDown
        expr: up{job="app"} == 0
        for: 1m
      - record: job:checkout_error_ratio:max
        expr: max(checkout_error_ratio)
  - name: backups
    rules:
      - alert: CheckoutErrorsSeen
        expr: checkout_error_ratio > 0
      - alert: BrokenMatch
        expr: checkout_requests_total * on() checkout_requests_total > 0
`;

const activities = createActionActivities({ env: {}, pgBin: '' });
let checkout: CheckoutMetrics;
let target: { name: string; spec: Target };

const rules = (input: Record<string, unknown>, on = target) => activities['prometheus.rules'](actionRequest('prometheus.rules', input, { target: on }));

beforeAll(async () => {
  checkout = await startCheckoutMetrics(RULES);
  target = checkout.target;
  // Every rule evaluated once with data: before that a rule's health is "unknown".
  await waitFor(async () => {
    const result = await rules({ alerts: ['CheckoutErrorsSeen'] });
    return result.ok === true && Array.isArray(result.firing) && result.firing.includes('CheckoutErrorsSeen');
  }, 30_000, 'prometheus did not evaluate its rules');
});

afterAll(async () => {
  await checkout?.stop();
});

describe('prometheus.rules', () => {
  it('lists the loaded alerting rules and passes when the named alerts are loaded and healthy', async () => {
    const result = await rules({ alerts: ['CheckoutErrorRateHigh', 'CheckoutDown'], minRules: 3 });
    expect(result).toEqual({
      ok: true,
      alerting: 4,
      firing: ['CheckoutErrorsSeen'],
      missing: [],
      unhealthy: [],
      rules: expect.arrayContaining([
        { name: 'CheckoutErrorRateHigh', group: 'checkout', health: 'ok', state: 'inactive' },
        { name: 'CheckoutDown', group: 'checkout', health: 'ok', state: 'inactive' },
        { name: 'CheckoutErrorsSeen', group: 'backups', health: 'ok', state: 'firing' },
        { name: 'BrokenMatch', group: 'backups', health: 'err', state: 'inactive', lastError: expect.any(String) },
      ]),
    });
    expect(result.rules).toHaveLength(4);
  });

  it('fails naming the alerts that are not loaded', async () => {
    const result = await rules({ alerts: ['CheckoutErrorRateHigh', 'PaymentsDown', 'LatencyHigh'] });
    expect(result).toMatchObject({ ok: false, missing: ['PaymentsDown', 'LatencyHigh'], reason: '2 of 3 named alerts are not loaded: PaymentsDown, LatencyHigh' });
  });

  it('fails on a named alert that is loaded but errors on evaluation: it would never fire', async () => {
    const result = await rules({ alerts: ['BrokenMatch'] });
    expect(result).toMatchObject({ ok: false, missing: [], unhealthy: [{ name: 'BrokenMatch', group: 'backups', health: 'err' }] });
    expect(result.reason).toMatch(/^not healthy: BrokenMatch \(group backups\) is err: .+/);
  });

  it('fails with fewer alerting rules than minRules, counting alerting rules only', async () => {
    expect(await rules({ minRules: 5 })).toMatchObject({ ok: false, reason: '4 alerting rules are loaded, at least 5 required' });
  });

  it('fails without retry when the target is not Prometheus, and retries when nothing answers', async () => {
    const notPrometheus = { name: 'metrics', spec: { type: 'prometheus' as const, url: `http://${checkout.app.address}` } };
    await expect(rules({}, notPrometheus)).rejects.toMatchObject({
      type: 'QueryFailed',
      nonRetryable: true,
      message: expect.stringMatching(/^prometheus\.rules on metrics: the answer \(HTTP 200\) is not a Prometheus rules list/),
    });
    const nothing = { name: 'metrics', spec: { type: 'prometheus' as const, url: `http://127.0.0.1:${await freePort()}` } };
    const failure: unknown = await rules({}, nothing).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect(failure).not.toHaveProperty('nonRetryable', true);
    expect(failure).toHaveProperty('message', expect.stringMatching(/^prometheus\.rules on metrics failed: .*ECONNREFUSED/));
  });
});
