import { WorkflowFailedError } from '@temporalio/client';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRunMessenger } from '../../activities/notify/run-message.ts';
import type { ActionActivity } from '../../activities/types.ts';
import { decodeGate } from '../../slack/ids.ts';
import { createPgSlackMessageStore } from '../../store/slack-messages.ts';
import { approveUpdate, DRILL_WORKFLOW, RUNBOOK_WORKFLOW, type DrillRecord, type DrillRunInput, type RunbookRunInput, type RunState } from '../../workflows/definitions.ts';
import { checklistOf, signOffItem, startChecklistRun } from '../support/checklist.ts';
import { uniqueId } from '../support/db.ts';
import { createEngineHarness, fakeActions, runbook, type EngineHarness } from '../support/engine.ts';
import { until } from '../support/poll.ts';
import { startSlackApi, type SlackApi, type SlackMessage } from '../support/slack.ts';

const TOKEN = 'xoxb-run-message-secret';
const CHANNEL = 'C0RUNMSG01';

let harness: EngineHarness;
let slack: SlackApi;
let messenger: ReturnType<typeof createRunMessenger>;
/** Runs whose first post lands without an answer. */
const dropFirstPost = new Set<string>();
const announced: Array<{ record: DrillRecord; channel?: string }> = [];

beforeAll(async () => {
  harness = await createEngineHarness('slackmsg');
  slack = await startSlackApi(TOKEN, {
    clockTimestamps: true,
    afterPost: (message) => {
      const runId = message.metadata?.event_payload.run_id;
      if (message.thread_ts !== undefined || typeof runId !== 'string' || !dropFirstPost.delete(runId)) return 'answer';
      return 'drop';
    },
  });
  messenger = createRunMessenger({ slack: { token: TOKEN, apiUrl: slack.apiUrl }, messages: createPgSlackMessageStore(harness.pool), logger: pino({ level: 'silent' }) });
  const passedAt: ActionActivity = async () => ({ passedAt: new Date().toISOString(), attempts: 1 });
  await harness.startWorker({ ...fakeActions([], new Set(['breaks'])), 'drill.health': passedAt }, {
    env: { SOURCE_URL: 'postgres://source', SERVER_URL: 'postgres://server' },
    overrides: {
      syncRunMessage: (input) => messenger.sync(input),
      notifyDrill: async (record, channel) => void announced.push({ record, channel }),
    },
  });
});

afterAll(async () => {
  await harness?.close();
  await slack?.close();
});

beforeEach(() => {
  slack.received.length = 0;
});

const noop = (id: string) => ({ id, action: 'noop' });
const gate = { id: 'approve', approval: { approvers: ['approver'], timeout: '1h', message: 'Restore <prod> now?' } };

async function start(spec: Record<string, unknown>, slackChannel: string | null = CHANNEL): Promise<string> {
  const input: RunbookRunInput = { runbook: runbook(spec), requestedBy: 'rita', channel: 'slack', source: 'test', slackChannel: slackChannel ?? undefined };
  const handle = await harness.client.workflow.start(RUNBOOK_WORKFLOW, { workflowId: uniqueId('slackmsg'), taskQueue: harness.taskQueue, args: [input] });
  return handle.workflowId;
}

/** The run's top-level messages in the channel: there must only ever be one. */
const runMessages = (runId: string) => slack.messages(CHANNEL).filter((message) => message.metadata?.event_payload.run_id === runId);
const shown = (message: SlackMessage | undefined) => JSON.stringify(message?.blocks ?? []);
const buttons = (message: SlackMessage | undefined) => (message?.blocks ?? []).filter((block) => (block as { type?: string }).type === 'actions') as Array<{ elements: Array<{ value: string }> }>;

describe('the run message', () => {
  it('is posted once, updated in place as steps finish, with the steps in its thread', async () => {
    const runId = await start({ steps: [noop('first'), noop('second'), noop('third')] });
    await harness.client.workflow.getHandle(runId).result();
    const [message, ...more] = runMessages(runId);
    expect(more).toEqual([]);
    expect(slack.calls('chat.postMessage').filter((body) => body.thread_ts === undefined)).toHaveLength(1);
    expect(message?.edits).toBeGreaterThanOrEqual(1);
    expect(shown(message)).toContain(':white_check_mark: *succeeded*');
    for (const step of ['first', 'second', 'third']) expect(shown(message)).toContain(`:white_check_mark: \`${step}\` succeeded`);
    expect(shown(message)).toContain('started by rita via slack from `test`');

    const replies = slack.replies(CHANNEL, message!.ts).map((reply) => reply.text);
    expect(replies).toEqual([
      expect.stringMatching(/^:white_check_mark: Step `first` succeeded in \d/),
      expect.stringMatching(/^:white_check_mark: Step `second` succeeded in \d/),
      expect.stringMatching(/^:white_check_mark: Step `third` succeeded in \d/),
      ':white_check_mark: Run succeeded',
    ]);
    const stored = await createPgSlackMessageStore(harness.pool).get(runId);
    expect(stored).toMatchObject({ channel: CHANNEL, ts: message!.ts });
    const events = await harness.store.events(runId);
    expect(stored?.threadSeq).toBe(events.length);

    // How long a finished step takes to show in the message.
    const updates = slack.received.filter((request) => request.method === 'chat.update' && request.body.ts === message!.ts);
    const lags = events.filter((event) => event.action === 'step.succeeded').map((event) => {
      const update = updates.find((request) => JSON.stringify(request.body.blocks).includes(`\`${event.stepId}\` succeeded`));
      return (update?.at ?? Number.NaN) - Date.parse(event.at);
    });
    console.log(`step finished → message updated: ${lags.map((ms) => `${ms} ms`).join(', ')}`);
    for (const lag of lags) expect(lag).toBeLessThan(5_000);
  });

  it('shows Approve and Reject while a gate waits, and who approved once it is decided', async () => {
    const runId = await start({ steps: [noop('before'), gate, noop('after')] });
    const waiting = await until(async () => {
      const [message] = runMessages(runId);
      return buttons(message).length > 0 ? message : undefined;
    }, 20_000, 'the gate never showed its buttons');
    expect(buttons(waiting).flatMap((block) => block.elements.map((button) => decodeGate(button.value)))).toEqual([{ runId, stepId: 'approve' }, { runId, stepId: 'approve' }]);
    expect(shown(waiting)).toContain('Restore &lt;prod&gt; now?');

    const handle = harness.client.workflow.getHandle(runId);
    await handle.executeUpdate(approveUpdate, { args: [{ actor: 'adam', channel: 'slack', comment: 'go' }] });
    await handle.result();
    const [message, ...more] = runMessages(runId);
    expect(more).toEqual([]);
    expect(buttons(message)).toEqual([]);
    expect(shown(message)).toContain('Gate `approve` approved by adam: go');
    expect(slack.replies(CHANNEL, message!.ts).map((reply) => reply.text)).toContain(':white_check_mark: `approve` approved by adam: go');
  });

  it('posts the message again when someone deleted it, and follows the run there', async () => {
    const runId = await start({ steps: [noop('before'), gate, noop('after')] });
    const deleted = await until(async () => {
      const [message] = runMessages(runId);
      return buttons(message).length > 0 ? message : undefined;
    }, 20_000, 'the gate never showed its buttons');
    const removed = await fetch(`${slack.apiUrl}chat.delete`, {
      method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ channel: CHANNEL, ts: deleted.ts }),
    });
    expect(await removed.json()).toMatchObject({ ok: true });
    expect(runMessages(runId)).toEqual([]);

    const handle = harness.client.workflow.getHandle(runId);
    await handle.executeUpdate(approveUpdate, { args: [{ actor: 'adam', channel: 'slack', comment: 'go' }] });
    await handle.result();
    const [message, ...more] = await until(async () => {
      const found = runMessages(runId);
      return found.length > 0 && shown(found[0]).includes(':white_check_mark: *succeeded*') ? found : undefined;
    }, 20_000, 'the run has no message showing its end');
    expect(more).toEqual([]);
    expect(message?.ts).not.toBe(deleted.ts);
    expect(shown(message)).toContain('Gate `approve` approved by adam: go');
    expect((await createPgSlackMessageStore(harness.pool).get(runId))?.ts).toBe(message?.ts);
    expect(slack.replies(CHANNEL, message!.ts).map((reply) => reply.text)).toContain(':white_check_mark: Run succeeded');
  });

  it('finds a post whose answer was lost in the channel, so the run still has one message', async () => {
    const runId = uniqueId('slackmsg');
    dropFirstPost.add(runId);
    const input: RunbookRunInput = { runbook: runbook({ steps: [noop('only')] }), requestedBy: 'rita', channel: 'cli', slackChannel: CHANNEL };
    await harness.client.workflow.execute(RUNBOOK_WORKFLOW, { workflowId: runId, taskQueue: harness.taskQueue, args: [input] });
    expect(dropFirstPost.has(runId)).toBe(false);
    const [message, ...more] = runMessages(runId);
    expect(more).toEqual([]);
    expect(slack.calls('conversations.history')).not.toHaveLength(0);
    expect(shown(message)).toContain(':white_check_mark: *succeeded*');
    expect(slack.replies(CHANNEL, message!.ts).map((reply) => reply.text)).toEqual([expect.stringContaining('Step `only` succeeded'), ':white_check_mark: Run succeeded']);
  });

  it('makes no Slack call, and schedules nothing for it, when the run has no channel', async () => {
    const runId = await start({ steps: [noop('quiet')] }, null);
    const handle = harness.client.workflow.getHandle(runId);
    await handle.result();
    expect(slack.received).toEqual([]);
    const history = await handle.fetchHistory();
    const scheduled = (history.events ?? []).flatMap((event) => event.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    expect(scheduled).not.toContain('syncRunMessage');
  });

  it('tells in the thread why a run failed and what was rolled back', async () => {
    const runId = await start({ steps: [noop('first'), noop('breaks')], rollback: [{ ...noop('undo-first'), compensates: 'first' }] });
    await expect(harness.client.workflow.getHandle(runId).result()).rejects.toThrow(WorkflowFailedError);
    const [message, ...more] = runMessages(runId);
    expect(more).toEqual([]);
    expect(shown(message)).toContain(':x: *failed*');
    expect(shown(message)).toContain('*Rollback*\\n:white_check_mark: `undo-first` succeeded');
    expect(slack.replies(CHANNEL, message!.ts).map((reply) => reply.text)).toEqual([
      expect.stringContaining('Step `first` succeeded'),
      ':x: Step `breaks` failed: breaks broke on purpose [Injected]',
      ':rewind: Rolling back: `undo-first`',
      expect.stringContaining('Step `undo-first` succeeded'),
      ':rewind: Rollback finished',
      ':x: Run failed: step breaks failed: breaks broke on purpose [Injected]',
    ]);
  });
});

describe('the message of a checklist run', () => {
  it('gives each waiting sign-off its buttons, and shows who signed off', async () => {
    const checklist = checklistOf('launch', [signOffItem('on-call', ['approver'])]);
    const { runId, handle } = await startChecklistRun(harness, checklist, { slackChannel: CHANNEL });
    const waiting = await until(async () => {
      const [message] = runMessages(runId);
      return buttons(message).length > 0 ? message : undefined;
    }, 20_000, 'the sign-off never showed its buttons');
    expect(buttons(waiting).map((block) => decodeGate(block.elements[0]?.value))).toEqual([{ runId, stepId: 'on-call' }]);
    await handle.executeUpdate(approveUpdate, { args: [{ actor: 'adam', channel: 'slack', stepId: 'on-call' }] });
    expect(await handle.result()).toMatchObject({ status: 'passed' });
    const [message, ...more] = runMessages(runId);
    expect(more).toEqual([]);
    expect(buttons(message)).toEqual([]);
    expect(shown(message)).toContain('(`on-call`) signed off by adam');
    expect(slack.replies(CHANNEL, message!.ts).map((reply) => reply.text)).toEqual([':white_check_mark: `on-call` approved by adam', ':white_check_mark: Run passed']);
  });
});

describe('syncRunMessage', () => {
  it('keeps one message when two syncs of a run race: the first stored wins, the other post is deleted', async () => {
    const runId = uniqueId('race');
    const state: RunState = {
      runId, runbook: 'orders-restore', service: 'orders', strategy: 'warm-standby', requestedBy: 'rita', status: 'running', paused: false,
      startedAt: new Date().toISOString(), steps: [], rollback: [], pauses: [],
    };
    const started = { runId, seq: 1, at: state.startedAt, actor: 'rita', channel: 'cli' as const, action: 'run.started' };
    const sync = { channel: CHANNEL, run: { kind: 'runbook' as const, state }, events: [started] };
    const answers = await Promise.all([messenger.sync(sync), messenger.sync(sync)]);
    expect(runMessages(runId)).toHaveLength(1);
    expect(slack.calls('chat.postMessage').filter((body) => body.thread_ts === undefined)).toHaveLength(2);
    expect(slack.calls('chat.delete')).toHaveLength(1);
    expect(answers.map((answer) => answer.posted && answer.ts)).toEqual([runMessages(runId)[0]?.ts, runMessages(runId)[0]?.ts]);
    const store = createPgSlackMessageStore(harness.pool);
    await store.advanceThread(runId, 7);
    await store.advanceThread(runId, 3);
    expect(await store.get(runId)).toMatchObject({ threadSeq: 7 });
  });

  it('calls nothing when the worker has no Slack token', async () => {
    const quiet = createRunMessenger({ slack: { apiUrl: slack.apiUrl }, messages: createPgSlackMessageStore(harness.pool), logger: pino({ level: 'silent' }) });
    const state = { runId: 'r', runbook: 'b', service: 's', strategy: 'x', requestedBy: 'rita', status: 'running' as const, paused: false, startedAt: new Date().toISOString(), steps: [], rollback: [], pauses: [] };
    expect(await quiet.sync({ channel: CHANNEL, run: { kind: 'runbook', state }, events: [] })).toEqual({ posted: false, reason: 'this worker has no Slack bot token (SLACK_BOT_TOKEN)' });
    expect(slack.received).toEqual([]);
  });
});

describe('drill results', () => {
  it('go to the channel the runbook names', async () => {
    const base = runbook({
      targets: { source: { type: 'postgres', url: '${SOURCE_URL}' }, server: { type: 'postgres', url: '${SERVER_URL}' }, backups: { type: 'filesystem', path: '/var/backups/golive' } },
      backup: { source: 'source', store: 'backups', retention: { keep: 3 } },
      drill: { server: 'server', smoke: [{ id: 'orders', sql: 'SELECT 1' }] },
      steps: [noop('unused')],
    });
    const drilled: DrillRunInput = { runbook: { ...base, metadata: { ...base.metadata, slack: { channel: 'C0ORDERS01' } } }, requestedBy: 'rita', channel: 'cli', trigger: 'manual' };
    const runId = uniqueId('drill');
    await harness.client.workflow.execute(DRILL_WORKFLOW, { workflowId: runId, taskQueue: harness.taskQueue, args: [drilled] }).catch((error: unknown) => {
      if (!(error instanceof WorkflowFailedError)) throw error;
    });
    expect(announced.filter((entry) => entry.record.runId === runId).map((entry) => entry.channel)).toEqual(['C0ORDERS01']);
  });
});
