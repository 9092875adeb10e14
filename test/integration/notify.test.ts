import { MockActivityEnvironment } from '@temporalio/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createNotifier, type NotifierOptions } from '../../activities/notify/slack.ts';
import { freePort } from '../../stack/process.ts';
import type { DrillRecord, RolloutRecord } from '../../workflows/definitions.ts';
import { startSlackApi, type SlackApi, type SlackRequest } from '../support/slack.ts';

const TOKEN = 'xoxb-test-0000-secret';

let slack: SlackApi;
let apiUrl: string;
let received: SlackRequest[];

beforeAll(async () => {
  slack = await startSlackApi(TOKEN, (channel, tries) => {
    if (channel === 'C-missing') return { status: 200, body: { ok: false, error: 'channel_not_found' } };
    if (channel === 'C-busy' && tries === 1) return { status: 429, body: { ok: false, error: 'ratelimited' }, headers: { 'retry-after': '1' } };
    if (channel === 'C-down' && tries === 1) return { status: 503, body: { ok: false, error: 'service_unavailable' } };
    if (channel === 'C-slow') return { status: 429, body: { ok: false, error: 'ratelimited' }, headers: { 'retry-after': '5' } };
    return undefined;
  });
  apiUrl = slack.apiUrl;
  received = slack.received;
});

afterAll(async () => {
  await slack?.close();
});

beforeEach(() => {
  received.length = 0;
});

function captureLogs(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }), lines };
}

function notifier(slack: Partial<NotifierOptions['slack']>, logger = captureLogs().logger) {
  return createNotifier({ slack: { apiUrl, ...slack }, logger, backoffMs: 100 });
}

const PASSED: DrillRecord = {
  runId: 'drill-orders-7f3a',
  runbook: 'orders-backup-restore',
  service: 'orders',
  strategy: 'backup-restore',
  trigger: 'schedule',
  requestedBy: 'schedule:orders-drill',
  status: 'passed',
  declaredAt: '2024-06-10T02:00:00.000Z',
  recoveredAt: '2024-06-10T02:03:12.000Z',
  finishedAt: '2024-06-10T02:03:20.000Z',
  backup: { backupId: 'orders-20240610T010000Z', location: 's3://backups/orders/orders-20240610T010000Z.dump', snapshotAt: '2024-06-10T01:00:00.000Z', bytes: 48_234_496, sha256: 'ab'.repeat(32) },
  objectives: { rpo: '24h', rto: '1h', rpoMs: 86_400_000, rtoMs: 3_600_000 },
  measured: { rpoMs: 3_601_000, rtoMs: 192_000, newestCommit: '2024-06-10T00:59:59.000Z', rpoSource: 'heartbeat' },
  steps: [{ id: 'restore', status: 'succeeded', durationMs: 150_000 }],
};

const FAILED: DrillRecord = {
  ...PASSED,
  runId: 'drill-orders-9b1c',
  trigger: 'manual',
  requestedBy: 'ada',
  status: 'failed',
  reason: 'measured RPO 26h exceeds objective 24h',
  measured: { rpoMs: 93_600_000, rpoSource: 'snapshot', newestCommit: '2024-06-09T00:00:00.000Z' },
  recoveredAt: undefined,
  steps: [{ id: 'health', status: 'failed', error: 'relation "orders" does not exist <check the restore>' }],
};

describe('drill result notifier', () => {
  it('posts a Block Kit message with the verdict, RPO/RTO against objectives and the backup used', async () => {
    const notice = await notifier({ token: TOKEN, channel: 'C-ok' }).drillFinished(PASSED);
    expect(notice).toEqual({ channel: 'slack', ts: '1718000000.000101' });
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ path: '/api/chat.postMessage', authorization: `Bearer ${TOKEN}`, contentType: 'application/json; charset=utf-8' });
    expect(received[0]?.body).toEqual({
      channel: 'C-ok',
      text: 'Restore drill passed for orders. RPO 1h 0m (objective 24h, met); RTO 3m 12s (objective 1h, met). Run drill-orders-7f3a.',
      unfurl_links: false,
      unfurl_media: false,
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'Restore drill passed: orders' } },
        {
          type: 'section',
          fields: [
            { type: 'mrkdwn', text: '*RPO (data loss)*\n1h 0m (objective 24h, met)\nfrom newest heartbeat 2024-06-10T00:59:59.000Z' },
            { type: 'mrkdwn', text: '*RTO (recovery time)*\n3m 12s (objective 1h, met)' },
            { type: 'mrkdwn', text: '*Backup used*\n`orders-20240610T010000Z`\ntaken 2024-06-10T01:00:00.000Z, 46.0 MB' },
            { type: 'mrkdwn', text: '*Runbook*\norders-backup-restore (backup-restore)' },
          ],
        },
        {
          type: 'context',
          elements: [{ type: 'mrkdwn', text: 'Run `drill-orders-7f3a`, scheduled. Disaster declared 2024-06-10T02:00:00.000Z; finished 2024-06-10T02:03:20.000Z.' }],
        },
      ],
    });
  });

  it('says why a drill failed, what was not measured, and which step broke (escaped for Slack)', async () => {
    await notifier({ token: TOKEN, channel: 'C-ok' }).drillFinished(FAILED);
    const body = received[0]?.body;
    expect(body).toMatchObject({
      text: 'Restore drill FAILED for orders: measured RPO 26h exceeds objective 24h. RPO 1d 2h (objective 24h, missed); RTO not measured (objective 1h). Run drill-orders-9b1c.',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'Restore drill FAILED: orders' } },
        { type: 'section', text: { type: 'mrkdwn', text: '*Reason:* measured RPO 26h exceeds objective 24h' } },
        {
          type: 'section',
          fields: expect.arrayContaining([
            { type: 'mrkdwn', text: '*RPO (data loss)*\n1d 2h (objective 24h, missed)\nfrom backup snapshot 2024-06-09T00:00:00.000Z' },
            { type: 'mrkdwn', text: '*RTO (recovery time)*\nnot measured (objective 1h)' },
          ]),
        },
        { type: 'section', text: { type: 'mrkdwn', text: '*Step health failed:* relation "orders" does not exist &lt;check the restore&gt;' } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: expect.stringContaining('started by ada') }] },
      ],
    });
  });

  it('fails for good, naming Slack\'s error, on a wrong token or an unknown channel', async () => {
    await expect(notifier({ token: 'xoxb-wrong', channel: 'C-ok' }).drillFinished(PASSED)).rejects.toMatchObject({
      type: 'SlackRejected',
      nonRetryable: true,
      message: 'cannot post the orders drill result (run drill-orders-7f3a) to Slack channel C-ok: Slack answered invalid_auth',
    });
    await expect(notifier({ token: TOKEN, channel: 'C-missing' }).drillFinished(PASSED)).rejects.toMatchObject({
      type: 'SlackRejected',
      message: expect.stringMatching(/Slack channel C-missing: Slack answered channel_not_found$/),
    });
    expect(received).toHaveLength(2);
  });

  it('waits as long as Retry-After says when rate limited, then posts once', async () => {
    const { logger, lines } = captureLogs();
    const notice = await notifier({ token: TOKEN, channel: 'C-busy' }, logger).drillFinished(PASSED);
    expect(notice).toEqual({ channel: 'slack', ts: '1718000000.000102' });
    expect(received).toHaveLength(2);
    expect((received[1]?.at ?? 0) - (received[0]?.at ?? 0)).toBeGreaterThanOrEqual(990);
    expect(lines.join('\n')).toContain('Slack answered ratelimited (HTTP 429); retrying in 1000ms');
    expect(lines.join('\n')).not.toContain(TOKEN);
  });

  it('stops waiting out a Retry-After at once when the activity is cancelled', async () => {
    const environment = new MockActivityEnvironment();
    const posting = environment.run(() => notifier({ token: TOKEN, channel: 'C-slow' }).drillFinished(PASSED));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const cancelledAt = Date.now();
    environment.cancel();
    await expect(posting).rejects.toThrow(/Slack channel C-slow: Slack answered ratelimited \(HTTP 429\) \(gave up after 1 attempt\)$/);
    expect(Date.now() - cancelledAt).toBeLessThan(300);
    expect(received).toHaveLength(1);
  });

  it('retries a Slack outage, and gives up with a retryable error when it lasts', async () => {
    expect(await notifier({ token: TOKEN, channel: 'C-down' }).drillFinished(PASSED)).toMatchObject({ channel: 'slack' });
    expect(received).toHaveLength(2);
    const closed = createNotifier({ slack: { token: TOKEN, channel: 'C-ok', apiUrl: `http://127.0.0.1:${await freePort()}/api/` }, logger: captureLogs().logger, backoffMs: 10, maxAttempts: 2 });
    const failing = closed.drillFinished(PASSED);
    await expect(failing).rejects.toThrow(/^cannot post the orders drill result \(run drill-orders-7f3a\) to Slack channel C-ok: .*ECONNREFUSED.* \(gave up after 2 attempts\)$/);
    await expect(failing).rejects.not.toHaveProperty('nonRetryable');
  });

  it('posts to the service\'s channel when its definition names one, else to the configured one', async () => {
    const rolledBack: RolloutRecord = {
      runId: 'checkout-rollout-1', plan: 'checkout-v2', service: 'checkout', flag: { key: 'new-checkout', provider: 'builtin', environment: 'production' },
      requestedBy: 'rita', status: 'rolled-back', phase: 2, percent: 0, guards: [], phases: [], startedAt: PASSED.declaredAt, steps: [],
      rolledBack: { at: PASSED.finishedAt, from: 50, to: 0, cause: 'guard error-rate tripped', by: 'golive' },
    };
    await notifier({ token: TOKEN, channel: 'C-ok' }).drillFinished(PASSED, 'C-orders');
    await notifier({ token: TOKEN }).rolloutRolledBack(rolledBack, 'C-checkout');
    await notifier({ token: TOKEN, channel: 'C-ok' }).rolloutRolledBack(rolledBack);
    expect(received.map((request) => [request.body.channel, String(request.body.text).slice(0, 20)])).toEqual([
      ['C-orders', 'Restore drill passed'], ['C-checkout', ':rewind: rollout che'], ['C-ok', ':rewind: rollout che'],
    ]);
  });

  it('logs the result, structured and without the token, when Slack is not configured', async () => {
    const { logger, lines } = captureLogs();
    const notice = await notifier({ token: TOKEN }, logger).drillFinished(FAILED);
    expect(notice).toEqual({ channel: 'log' });
    expect(received).toHaveLength(0);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      level: 30,
      runId: 'drill-orders-9b1c',
      service: 'orders',
      status: 'failed',
      reason: 'measured RPO 26h exceeds objective 24h',
      measured: { rpoMs: 93_600_000, rpoSource: 'snapshot' },
      objectives: { rpo: '24h', rto: '1h' },
      msg: expect.stringMatching(/^Restore drill FAILED for orders: measured RPO 26h exceeds objective 24h\./),
    });
    expect(lines.join('\n')).not.toContain(TOKEN);
  });
});
