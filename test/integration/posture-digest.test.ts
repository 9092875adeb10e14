import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScheduleNotFoundError } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../config/env.ts';
import { createLogger } from '../../runtime/logger.ts';
import { DIGEST_SCHEDULE_ID, postDigestNow } from '../../runtime/posture-digest.ts';
import { createWorker } from '../../runtime/worker.ts';
import { createPgScheduleNotes } from '../../store/schedule-notes.ts';
import { golive } from '../support/cli.ts';
import { uniqueId } from '../support/db.ts';
import { createEngineHarness, shellEnv, type EngineHarness } from '../support/engine.ts';
import { until } from '../support/poll.ts';
import { startSlackApi, type SlackApi } from '../support/slack.ts';

const TOKEN = 'xoxb-posture-digest-0000-secret';
const CHANNEL = 'C0DIGEST01';

let harness: EngineHarness;
let slack: SlackApi;
let folder: string;
let dropNextPost = false;
const services = [uniqueId('orders'), uniqueId('payments')];
const workers: Array<{ worker: Worker; running: Promise<void>; connection: NativeConnection }> = [];

/** A protected service's runbook, as a person writes it: posture reads it from the worker's runbooks folder. */
const runbookFile = (service: string) => `apiVersion: golive/v1
kind: Runbook
metadata: { name: ${service}, service: ${service} }
spec:
  strategy: warm-standby
  objectives: { rpo: 1h, rto: 1h }
  targets:
    source: { type: postgres, url: "\${DR_SOURCE_URL}" }
    server: { type: postgres, url: "\${DR_SERVER_URL}" }
    backups: { type: filesystem, path: /var/backups/golive }
  backup: { source: source, store: backups }
  drill: { server: server }
  steps:
    - { id: noop, action: noop }
`;

/** A golive worker as `golive worker` builds it (runtime/worker.ts), on `taskQueue`, with these variables. */
async function startWorker(taskQueue: string, env: NodeJS.ProcessEnv): Promise<void> {
  const config = loadConfig({ GOLIVE_HOME: join(folder, '.golive'), GOLIVE_RUNBOOKS_DIR: join(folder, 'runbooks'), SLACK_API_URL: slack.apiUrl, ...env });
  const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const worker = await createWorker({ connection, pool: harness.pool, config, workflowBundlePath: inject('workflowBundlePath'), taskQueue, env: {}, logger: createLogger('silent') });
  workers.push({ worker, running: worker.run(), connection });
}

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => golive(['posture', 'digest', ...args], { env: shellEnv(harness, folder, { GOLIVE_SLACK_CHANNEL: '', GOLIVE_USER: 'ana', ...env }), cwd: folder });

beforeAll(async () => {
  harness = await createEngineHarness('posture-digest');
  slack = await startSlackApi(TOKEN, { afterPost: () => (dropNextPost ? ((dropNextPost = false), 'drop') : 'answer') });
  folder = await mkdtemp(join(tmpdir(), 'golive-posture-digest-'));
  await mkdir(join(folder, 'runbooks'));
  for (const service of services) await writeFile(join(folder, 'runbooks', `${service}.yaml`), runbookFile(service));
  await startWorker(harness.taskQueue, { SLACK_BOT_TOKEN: TOKEN });
});

afterAll(async () => {
  await harness?.client.schedule.getHandle(DIGEST_SCHEDULE_ID).delete().catch(() => undefined);
  for (const { worker, running, connection } of workers) {
    worker.shutdown();
    await running;
    await connection.close();
  }
  await harness?.close();
  await slack?.close();
  if (folder) await rm(folder, { recursive: true, force: true });
});

/** Every text of a message, blocks included, as one string to look for names in. */
const wording = (message: { text?: string; blocks?: unknown[] }) => `${message.text ?? ''}\n${JSON.stringify(message.blocks ?? [])}`;

describe('the posture digest', () => {
  it('refuses a channel name, and a digest with no channel to go to, before anything changes', async () => {
    const named = await cli(['--cron', '0 9 * * 1', '--channel', 'general']);
    expect(named.code).toBe(2);
    expect(named.stderr).toContain("--channel general: must be a Slack channel ID like C0123ABCD (in Slack: the channel's details, at the bottom), not its name");
    const nowhere = await cli(['--cron', '0 9 * * 1']);
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toContain('cannot schedule the posture digest: no Slack channel to post it to; give --channel C0123ABCD, or set GOLIVE_SLACK_CHANNEL');
    await expect(harness.client.schedule.getHandle(DIGEST_SCHEDULE_ID).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });

  it('is a Temporal Schedule with the cron; a firing posts exactly one digest naming every service', async () => {
    const created = await cli(['--cron', '0 9 * * 1', '--timezone', 'Europe/Berlin', '--json'], { GOLIVE_SLACK_CHANNEL: CHANNEL });
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ scheduleId: 'posture-digest', created: true, cron: '0 9 * * 1', timezone: 'Europe/Berlin', channel: CHANNEL });

    const schedule = await harness.client.schedule.getHandle(DIGEST_SCHEDULE_ID).describe();
    expect(schedule.spec.calendars?.map((calendar) => calendar.comment)).toEqual(['0 9 * * 1']);
    expect(schedule.spec.timezone).toBe('Europe/Berlin');
    expect(schedule.action).toMatchObject({ workflowType: 'postureDigestWorkflow', taskQueue: harness.taskQueue, args: [{ channel: CHANNEL }] });
    // 09:00 in Berlin on a Monday is 07:00 or 08:00 UTC.
    expect(schedule.info.nextActionTimes[0]?.getUTCDay()).toBe(1);

    await harness.client.schedule.getHandle(DIGEST_SCHEDULE_ID).trigger();
    const [digest] = await until(async () => (slack.messages(CHANNEL).length > 0 ? slack.messages(CHANNEL) : undefined), 30_000, 'no digest reached Slack');
    const fired = await until(async () => (await harness.client.schedule.getHandle(DIGEST_SCHEDULE_ID).describe()).info.recentActions.at(-1), 10_000, 'the schedule did not record its firing');
    if (!('workflow' in fired.action)) throw new Error('the schedule started no workflow');
    await harness.client.workflow.getHandle(fired.action.workflow.workflowId).result();
    expect(slack.messages(CHANNEL)).toHaveLength(1);
    expect(digest?.text).toBe(`DR posture: 2 of 2 services need attention: ${[...services].sort().map((service) => `${service} (at risk)`).join(', ')}.`);
    for (const service of services) expect(wording(digest!)).toContain(`*${service}*: AT RISK (warm-standby, runbook \`${service}\`)`);
    expect(wording(digest!)).toContain('no backup recorded');
    expect(digest?.metadata).toEqual({ event_type: 'golive_posture_digest', event_payload: { digest_id: fired.action.workflow.workflowId } });
  });

  it('keeps what is not given again, and shows the schedule', async () => {
    const moved = await cli(['--channel', 'C0DIGEST02', '--json']);
    expect(moved.code, moved.stderr).toBe(0);
    expect(JSON.parse(moved.stdout)).toMatchObject({ created: false, channel: 'C0DIGEST02', kept: { cron: '0 9 * * 1', timezone: 'Europe/Berlin' } });
    const shown = await cli([]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('schedule posture-digest: the posture digest goes to C0DIGEST02 at "0 9 * * 1" (Europe/Berlin)');
  });

  it('posts one digest now and waits for it, without posting twice when Slack\'s answer is lost', async () => {
    const now = await cli(['--now', '--channel', 'C0DIGESTNOW', '--json']);
    expect(now.code, now.stderr).toBe(0);
    expect(JSON.parse(now.stdout)).toMatchObject({ channel: 'C0DIGESTNOW', services: 2, needAttention: 2, ts: slack.messages('C0DIGESTNOW')[0]?.ts });
    expect(slack.messages('C0DIGESTNOW')).toHaveLength(1);

    dropNextPost = true;
    const answer = await postDigestNow(harness.client, { channel: 'C0DIGESTLOST', taskQueue: harness.taskQueue });
    expect(slack.messages('C0DIGESTLOST')).toHaveLength(1);
    expect(answer.ts).toBe(slack.messages('C0DIGESTLOST')[0]?.ts);
  });

  it('fails naming SLACK_BOT_TOKEN when the worker has no Slack token', async () => {
    const taskQueue = uniqueId('posture-digest-no-slack');
    await startWorker(taskQueue, {});
    const result = await cli(['--now', '--channel', CHANNEL], { GOLIVE_TASK_QUEUE: taskQueue });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`golive: the posture digest was not posted: cannot post the posture digest to Slack channel ${CHANNEL}: this worker has no SLACK_BOT_TOKEN; set it on the worker`);
  });

  it('deletes the schedule, keeping who and why', async () => {
    const deleted = await cli(['--delete', '--comment', 'moved to the weekly review']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain('deleted schedule posture-digest (note kept: moved to the weekly review)');
    await expect(harness.client.schedule.getHandle(DIGEST_SCHEDULE_ID).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    const notes = await createPgScheduleNotes(harness.pool).recent([DIGEST_SCHEDULE_ID], 1);
    expect(notes.get(DIGEST_SCHEDULE_ID)).toMatchObject([{ actor: 'ana', control: 'delete', note: 'moved to the weekly review' }]);
    const gone = await cli([]);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain('there is no posture digest schedule; create one with `golive posture digest --cron "0 9 * * 1"`');
  });
});
