import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActionActivities } from '../../activities/catalog.ts';
import { actionRequest } from '../support/actions.ts';

const activities = createActionActivities({ env: {}, pgBin: '' });
const DAY = 86_400_000;

/** What `k6 run --summary-export=summary-export.json` writes: statistics straight under each metric, a rate's rate as `value`. */
const SUMMARY_EXPORT = {
  root_group: {
    name: '',
    path: '',
    id: 'd41d8cd98f00b204e9800998ecf8427e',
    groups: {},
    checks: { 'status is 200': { name: 'status is 200', path: '::status is 200', id: '6210a8cd14cd70477eba5c5e4cb3fb5f', passes: 11_934, fails: 66 } },
  },
  options: { summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)'], summaryTimeUnit: '', noColor: false },
  state: { isStdOutTTY: false, isStdErrTTY: false, testRunDurationMs: 120_045.3 },
  metrics: {
    http_req_duration: { avg: 182.41, min: 61.03, med: 158.77, max: 2_210.5, 'p(90)': 311.2, 'p(95)': 402.66, thresholds: { 'p(95)<500': false } },
    'http_req_duration{expected_response:true}': { avg: 179.9, min: 61.03, med: 157.1, max: 1_804.2, 'p(90)': 305.8, 'p(95)': 398.1 },
    http_req_failed: { passes: 66, fails: 11_934, value: 0.0055, thresholds: { 'rate<0.01': false } },
    http_reqs: { count: 12_000, rate: 99.962 },
    iterations: { count: 12_000, rate: 99.962 },
    iteration_duration: { avg: 1_184.2, min: 1_062.1, med: 1_160.3, max: 3_215.9, 'p(90)': 1_313.5, 'p(95)': 1_405.2 },
    checks: { passes: 11_934, fails: 66, value: 0.9945 },
    vus: { value: 3, min: 1, max: 120 },
    vus_max: { value: 120, min: 120, max: 120 },
    data_received: { count: 48_213_560, rate: 401_624.5 },
  },
};

/** What handleSummary receives as `data` (and `JSON.stringify(data)` writes): {type, contains, values} per metric. */
const HANDLE_SUMMARY = {
  root_group: {
    name: '',
    path: '',
    id: 'd41d8cd98f00b204e9800998ecf8427e',
    groups: [],
    checks: [{ name: 'status is 200', path: '::status is 200', id: '6210a8cd14cd70477eba5c5e4cb3fb5f', passes: 11_990, fails: 10 }],
  },
  options: { summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'p(99.9)'], summaryTimeUnit: '', noColor: false },
  state: { isStdOutTTY: false, isStdErrTTY: false, testRunDurationMs: 600_012.8 },
  metrics: {
    http_req_duration: {
      type: 'trend',
      contains: 'time',
      values: { avg: 141.2, min: 58.4, med: 128.9, max: 1_712.3, 'p(90)': 233.5, 'p(95)': 288.1, 'p(99)': 611.7, 'p(99.9)': 1_204.9 },
      thresholds: { 'p(95)<500': { ok: true }, 'p(99)<=800': { ok: true } },
    },
    http_req_failed: { type: 'rate', contains: 'default', values: { rate: 0.00083, passes: 10, fails: 11_990 }, thresholds: { 'rate<0.01': { ok: true } } },
    http_reqs: { type: 'counter', contains: 'default', values: { count: 12_000, rate: 19.999 } },
    checks: { type: 'rate', contains: 'default', values: { rate: 0.99917, passes: 11_990, fails: 10 } },
    vus: { type: 'gauge', contains: 'default', values: { value: 40, min: 1, max: 40 } },
    data_received: { type: 'counter', contains: 'data', values: { count: 61_440_000, rate: 102_397.8 } },
  },
};

let folder = '';
const target = (path: string) => ({ target: { name: 'load-test', spec: { type: 'filesystem' as const, path } } });
const summary = (path: string, input: Record<string, unknown>) => activities['loadtest.summary'](actionRequest('loadtest.summary', input, target(path)));

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'golive-k6-'));
  await writeFile(join(folder, 'summary-export.json'), JSON.stringify(SUMMARY_EXPORT, null, 4));
  await writeFile(join(folder, 'handle-summary.json'), JSON.stringify(HANDLE_SUMMARY));
  await writeFile(join(folder, 'k6.log'), 'running (2m00.0s), 000/120 VUs, 12000 complete and 0 interrupted iterations\n');
  await writeFile(join(folder, 'no-metrics.json'), JSON.stringify({ root_group: {}, state: {} }));
  await mkdir(join(folder, 'reports'));
});

afterAll(() => rm(folder, { recursive: true, force: true }));

describe('loadtest.summary', () => {
  it('checks thresholds against a --summary-export file, a rate metric read from its value', async () => {
    const result = await summary(join(folder, 'summary-export.json'), {
      thresholds: {
        http_req_duration: ['p(95)<500', 'avg < 200', 'med<=160'],
        'http_req_duration{expected_response:true}': ['p(90)<350'],
        http_req_failed: ['rate<0.01'],
        http_reqs: ['count>10000', 'rate>=90'],
        checks: ['rate>0.99'],
        vus: ['value<=120'],
      },
    });
    expect(result).toMatchObject({ ok: true, format: 'summary-export', file: join(folder, 'summary-export.json') });
    expect(result.reason).toBeUndefined();
    expect(result.thresholds).toEqual([
      { metric: 'http_req_duration', expression: 'p(95)<500', actual: 402.66, ok: true },
      { metric: 'http_req_duration', expression: 'avg < 200', actual: 182.41, ok: true },
      { metric: 'http_req_duration', expression: 'med<=160', actual: 158.77, ok: true },
      { metric: 'http_req_duration{expected_response:true}', expression: 'p(90)<350', actual: 305.8, ok: true },
      { metric: 'http_req_failed', expression: 'rate<0.01', actual: 0.0055, ok: true },
      { metric: 'http_reqs', expression: 'count>10000', actual: 12_000, ok: true },
      { metric: 'http_reqs', expression: 'rate>=90', actual: 99.962, ok: true },
      { metric: 'checks', expression: 'rate>0.99', actual: 0.9945, ok: true },
      { metric: 'vus', expression: 'value<=120', actual: 3, ok: true },
    ]);
  });

  it('fails with each failed threshold and its actual value in the reason', async () => {
    const result = await summary(join(folder, 'summary-export.json'), {
      thresholds: { http_req_duration: ['p(95)<500', 'max<2000'], http_req_failed: ['rate<0.005'] },
    });
    expect(result).toMatchObject({ ok: false, reason: '2 of 3 thresholds failed: http_req_duration max<2000 (actual 2210.5); http_req_failed rate<0.005 (actual 0.0055)' });
  });

  it("reads handleSummary's data, percentiles the test asked k6 for included", async () => {
    const result = await summary(folder, {
      file: 'handle-summary.json',
      thresholds: { http_req_duration: ['p(99)<=800', 'p(99.9)<1500', 'p(95)<300'], http_req_failed: ['rate<0.01'], http_reqs: ['count>1000'], checks: ['rate>0.999'] },
    });
    expect(result).toMatchObject({ ok: true, format: 'handleSummary' });
    expect(result.thresholds).toEqual([
      { metric: 'http_req_duration', expression: 'p(99)<=800', actual: 611.7, ok: true },
      { metric: 'http_req_duration', expression: 'p(99.9)<1500', actual: 1_204.9, ok: true },
      { metric: 'http_req_duration', expression: 'p(95)<300', actual: 288.1, ok: true },
      { metric: 'http_req_failed', expression: 'rate<0.01', actual: 0.00083, ok: true },
      { metric: 'http_reqs', expression: 'count>1000', actual: 12_000, ok: true },
      { metric: 'checks', expression: 'rate>0.999', actual: 0.99917, ok: true },
    ]);
  });

  it('fails a threshold whose metric or statistic the summary lacks, saying what it has, and still checks the rest', async () => {
    const result = await summary(join(folder, 'summary-export.json'), {
      thresholds: { http_req_duration: ['p(99)<800', 'p(95)<500'], grpc_req_duration: ['p(95)<300'], http_reqs: ['avg<10'] },
    });
    expect(result.ok).toBe(false);
    expect(result.thresholds).toEqual([
      {
        metric: 'http_req_duration', expression: 'p(99)<800', actual: null, ok: false,
        problem: "p(99) of http_req_duration is not in the summary (it has avg, min, med, max, p(90), p(95)); add p(99) to k6's --summary-trend-stats",
      },
      { metric: 'http_req_duration', expression: 'p(95)<500', actual: 402.66, ok: true },
      { metric: 'grpc_req_duration', expression: 'p(95)<300', actual: null, ok: false, problem: expect.stringMatching(/^metric grpc_req_duration is not in the summary \(it has http_req_duration, /) },
      { metric: 'http_reqs', expression: 'avg<10', actual: null, ok: false, problem: 'avg of http_reqs is not in the summary (it has count, rate)' },
    ]);
    expect(result.reason).toMatch(/^3 of 4 thresholds failed: http_req_duration p\(99\)<800 \(p\(99\) of http_req_duration is not in the summary/);
  });

  it('fails a summary older than maxAge, by its file time', async () => {
    const old = join(folder, 'old-summary.json');
    await writeFile(old, JSON.stringify(HANDLE_SUMMARY));
    const threeDaysAgo = new Date(Date.now() - 3 * DAY - 60_000);
    await utimes(old, threeDaysAgo, threeDaysAgo);
    const result = await summary(old, { thresholds: { http_req_failed: ['rate<0.01'] }, maxAge: '2d' });
    expect(result).toMatchObject({ ok: false, reason: 'the summary was written 3d 0h ago, longer ago than maxAge 2d: run the load test again', writtenAt: threeDaysAgo.toISOString() });
    expect(await summary(old, { thresholds: { http_req_failed: ['rate<0.01'] }, maxAge: '7d' })).toMatchObject({ ok: true });
  });

  it.each([
    ['a summary that is not there', () => join(folder, 'reports', 'summary.json'), {}, 'EvidenceMissing', /^loadtest\.summary load-test: no k6 summary at .*reports\/summary\.json; run the load test with k6 run --summary-export=/],
    ['a folder without with.file', () => join(folder, 'reports'), {}, 'InvalidInput', /^loadtest\.summary load-test: .*reports is a folder; name the summary file in it with with\.file/],
    ['a file that is not JSON', () => join(folder, 'k6.log'), {}, 'EvidenceMissing', /^loadtest\.summary: .*k6\.log is not JSON; point the target at k6's JSON summary$/],
    ['JSON that is not a k6 summary', () => folder, { file: 'no-metrics.json' }, 'EvidenceMissing', /no-metrics\.json is not a k6 summary \(it has no metrics object\)/],
  ])('fails without retry on %s', async (_case, path, input, type, message) => {
    await expect(summary(path(), { thresholds: { http_req_failed: ['rate<0.01'] }, ...input })).rejects.toMatchObject({ type, nonRetryable: true, message: expect.stringMatching(message) });
  });

  it('refuses a threshold not written as k6 writes it', async () => {
    await expect(summary(join(folder, 'summary-export.json'), { thresholds: { http_req_duration: ['p95 < 500'] } })).rejects.toMatchObject({
      type: 'InvalidInput',
      message: 'loadtest.summary step loadtest-summary: with.thresholds.http_req_duration.0: must be a k6 threshold like p(95)<500, rate<0.01 or count>1000',
    });
  });
});
