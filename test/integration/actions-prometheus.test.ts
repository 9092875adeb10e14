import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Target } from '../../definitions/targets.ts';
import { actionRequest, testActivities } from '../support/actions.ts';
import { startCheckoutMetrics, type CheckoutMetrics } from '../support/prometheus.ts';

const activities = testActivities();
let checkout: CheckoutMetrics;
let target: { name: string; spec: Target };

const query = (text: string) => activities['prometheus.query'](actionRequest('prometheus.query', { query: text }, { target }));

beforeAll(async () => {
  checkout = await startCheckoutMetrics();
  target = checkout.target;
});

afterAll(async () => {
  await checkout?.stop();
});

describe('prometheus.query', () => {
  it('returns the value of a single series', async () => {
    expect(await query('checkout_error_ratio')).toMatchObject({ value: 0.01, series: [{ value: 0.01 }] });
  });

  it('returns every series and no single value when there are several', async () => {
    const result = await query('checkout_requests_total');
    expect(result.value).toBeNull();
    expect(result.series).toEqual(expect.arrayContaining([
      expect.objectContaining({ metric: expect.objectContaining({ code: '500' }), value: 10 }),
      expect.objectContaining({ metric: expect.objectContaining({ code: '200' }), value: 990 }),
    ]));
  });

  it('returns an aggregate and a scalar as one value', async () => {
    expect((await query('sum(checkout_requests_total)')).value).toBe(1000);
    expect(await query('scalar(sum(checkout_requests_total{code="500"})) / 1000')).toEqual({ value: 0.01, series: [] });
  });

  it('returns null for a query with no data, so an assertion on it fails', async () => {
    expect(await query('checkout_missing_metric')).toEqual({ value: null, series: [] });
  });

  it('fails without retry on a query Prometheus cannot parse', async () => {
    await expect(query('sum(')).rejects.toMatchObject({
      type: 'QueryFailed',
      nonRetryable: true,
      message: expect.stringMatching(/^prometheus\.query on metrics \(sum\(\): .*parse error/),
    });
  });
});
