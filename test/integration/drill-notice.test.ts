import { ApplicationFailure } from '@temporalio/common';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRoleDirectory } from '../../runtime/roles.ts';
import { createActivities } from '../../activities/index.ts';
import { createNotifier } from '../../activities/notify/slack.ts';
import { migrate } from '../../store/migrate.ts';
import { createPgProtectionStore, type ProtectionStore } from '../../store/protection.ts';
import { createPgRunStore } from '../../store/runs.ts';
import { createTestDatabase } from '../support/db.ts';
import { drillRecord } from '../support/protection-records.ts';
import { startSlackApi, type SlackApi } from '../support/slack.ts';

const TOKEN = 'xoxb-drill-notice-secret';
const finishedAt = Date.parse('2026-03-02T03:00:00Z');

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
let store: ProtectionStore;
let slack: SlackApi;

beforeAll(async () => {
  database = await createTestDatabase('drill_notice');
  pool = new pg.Pool({ connectionString: database.url });
  await migrate(pool);
  store = createPgProtectionStore(pool);
  slack = await startSlackApi(TOKEN, (channel, tries) => (channel === 'C-flaky' && tries === 1 ? { status: 503, body: { ok: false, error: 'service_unavailable' } } : undefined));
});

afterAll(async () => {
  await slack?.close();
  await pool?.end();
  await database?.drop();
});

beforeEach(() => {
  slack.received.length = 0;
});

/** The worker's activities with a real store and a notifier posting to `channel` (one try per activity attempt). */
function activities(channel: string) {
  return createActivities({
    store: createPgRunStore(pool, store),
    roles: createRoleDirectory({}),
    actions: { env: {}, pgBin: '' },
    drills: store,
    notifier: createNotifier({ slack: { token: TOKEN, channel, apiUrl: slack.apiUrl }, logger: pino({ level: 'silent' }), maxAttempts: 1 }),
  });
}

const posted = () => slack.received.filter((request) => request.path === '/api/chat.postMessage').map((request) => request.body);

describe('notifyDrill', () => {
  it('posts a drill result once when the activity runs again after the post landed', async () => {
    const record = drillRecord({ runId: 'orders-drill-notice-1', service: 'orders', finishedAt });
    const { notifyDrill } = activities('C-drills');
    await store.recordDrill(record);
    await notifyDrill(record);
    await notifyDrill(record);
    expect(posted()).toEqual([expect.objectContaining({ channel: 'C-drills' })]);
    expect(await store.notice(record.runId)).toEqual({ channel: 'slack', ts: '1718000000.000101' });
  });

  it('posts again after a try Slack refused, then never again', async () => {
    const record = drillRecord({ runId: 'orders-drill-notice-2', service: 'orders', finishedAt, status: 'failed', reason: 'health check did not pass within 5m' });
    const { notifyDrill } = activities('C-flaky');
    await store.recordDrill(record);
    await expect(notifyDrill(record)).rejects.toThrow(
      'cannot post the orders drill result (run orders-drill-notice-2) to Slack channel C-flaky: Slack answered HTTP 503 (gave up after 1 attempt)',
    );
    expect(await store.notice(record.runId)).toBeUndefined();
    await notifyDrill(record);
    await notifyDrill(record);
    expect(posted()).toHaveLength(2);
    expect(await store.notice(record.runId)).toEqual({ channel: 'slack', ts: '1718000000.000102' });
  });

  it('fails for good, without posting on every retry, when the drill was never recorded', async () => {
    const record = drillRecord({ runId: 'orders-drill-unrecorded', service: 'orders', finishedAt });
    const failure = await activities('C-drills').notifyDrill(record).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({
      nonRetryable: true,
      type: 'NotFound',
      message: 'cannot record where drill orders-drill-unrecorded was announced: no drill orders-drill-unrecorded is recorded',
    });
    expect(posted()).toHaveLength(1);
  });
});
