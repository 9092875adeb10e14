import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPgSlackMessageStore } from '../../store/slack-messages.ts';
import { approveUpdate, RUNBOOK_WORKFLOW, type RunbookRunInput } from '../../workflows/definitions.ts';
import { uniqueId } from '../support/db.ts';
import { workerProcesses, type WorkerProcesses } from '../support/worker-process.ts';
import { createEngineHarness, runbook, type EngineHarness } from '../support/engine.ts';
import { until } from '../support/poll.ts';
import { startSlackApi, type SlackApi, type SlackMessage } from '../support/slack.ts';

const TOKEN = 'xoxb-crash-message-secret';
const CHANNEL = 'C0CRASH001';

let harness: EngineHarness;
let slack: SlackApi;
let workers: WorkerProcesses | undefined;
/** The run whose first post kills the worker that made it, before Slack answers. */
let killOnFirstPost: { runId: string; worker: ChildProcess; killedAt?: number } | undefined;

function startWorkerProcess(): ChildProcess {
  workers ??= workerProcesses({ databaseUrl: harness.databaseUrl, taskQueue: harness.taskQueue }, 'error');
  return workers.start({ GOLIVE_ROLES: 'rita=release-manager,adam=approver', SLACK_BOT_TOKEN: TOKEN, SLACK_API_URL: slack.apiUrl });
}

beforeAll(async () => {
  harness = await createEngineHarness('slackcrash');
  slack = await startSlackApi(TOKEN, {
    clockTimestamps: true,
    afterPost: async (message) => {
      const target = killOnFirstPost;
      if (!target || target.killedAt !== undefined || message.thread_ts !== undefined || message.metadata?.event_payload.run_id !== target.runId) return 'answer';
      // The post is stored: the worker dies before it learns the message's ts.
      target.worker.kill('SIGKILL');
      await once(target.worker, 'exit');
      target.killedAt = Date.now();
      return 'drop';
    },
  });
});

afterAll(async () => {
  workers?.killAll();
  await harness?.close();
  await slack?.close();
});

const runMessages = (runId: string) => slack.messages(CHANNEL).filter((message) => message.metadata?.event_payload.run_id === runId);
const hasButtons = (message: SlackMessage | undefined) => (message?.blocks ?? []).some((block) => (block as { type?: string }).type === 'actions');

it('a worker killed right after posting the run message: the next worker finds it, so the run has one message, updated to the end', async () => {
  const input: RunbookRunInput = {
    runbook: runbook({ steps: [{ id: 'before', action: 'noop' }, { id: 'approve', approval: { approvers: ['approver'], timeout: '1h' } }, { id: 'after', action: 'noop' }] }),
    requestedBy: 'rita',
    channel: 'cli',
    slackChannel: CHANNEL,
  };
  const runId = uniqueId('slackcrash');
  killOnFirstPost = { runId, worker: startWorkerProcess() };
  const handle = await harness.client.workflow.start(RUNBOOK_WORKFLOW, { workflowId: runId, taskQueue: harness.taskQueue, args: [input] });
  await until(async () => killOnFirstPost?.killedAt, 90_000, 'the first worker never posted the run message');
  expect(runMessages(runId)).toHaveLength(1);
  startWorkerProcess();

  const waiting = await until(async () => {
    const [message] = runMessages(runId);
    return hasButtons(message) ? message : undefined;
  }, 90_000, 'the second worker never brought the message up to the gate');
  console.log(`worker killed → message found again and showing the gate: ${Date.now() - killOnFirstPost.killedAt!} ms`);
  expect(slack.calls('conversations.history').length).toBeGreaterThanOrEqual(1);

  await handle.executeUpdate(approveUpdate, { args: [{ actor: 'adam', channel: 'cli', comment: 'go' }] });
  await handle.result();
  const [message, ...more] = runMessages(runId);
  expect(more).toEqual([]);
  expect(message?.ts).toBe(waiting.ts);
  expect(hasButtons(message)).toBe(false);
  expect(JSON.stringify(message?.blocks)).toContain(':white_check_mark: *succeeded*');
  expect(JSON.stringify(message?.blocks)).toContain('Gate `approve` approved by adam: go');
  expect(await createPgSlackMessageStore(harness.pool).get(runId)).toMatchObject({ ts: message?.ts, channel: CHANNEL });

  const told = slack.replies(CHANNEL, message!.ts).map((reply) => reply.metadata?.event_payload.seq);
  expect(new Set(told).size).toBe(told.length);
  expect(slack.replies(CHANNEL, message!.ts).at(-1)?.text).toBe(':white_check_mark: Run succeeded');
}, 180_000);
