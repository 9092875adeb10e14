import type { Logger } from 'pino';
import { z } from 'zod';
import { runMessage } from '../../slack/blocks/run-message.ts';
import { threadReply } from '../../slack/blocks/thread-replies.ts';
import { RUN_MESSAGE_EVENT } from '../../slack/ids.ts';
import type { RunMessageRow, SlackMessageStore } from '../../store/slack-messages.ts';
import type { AuditEvent, RunMessageAnswer, RunMessageSync } from '../../workflows/definitions.ts';
import { activityAttempt, withHeartbeats } from '../context.ts';
import { callSlack, slackErrorCode, withSlackRetries, type SlackAnswer } from './slack-api.ts';

export interface RunMessageDeps {
  /** No token: runs have no Slack message on this worker, and nothing is called. */
  slack: { token?: string; apiUrl: string };
  messages: SlackMessageStore;
  logger: Pick<Logger, 'warn'>;
  now?: () => Date;
  /** Pages of 100 messages read from the channel when looking for a post whose answer was lost (default 3). */
  historyPages?: number;
}

export interface RunMessenger {
  sync(input: RunMessageSync): Promise<RunMessageAnswer>;
}

/** Reaching back this far before the run's start covers the clocks of Slack and the worker disagreeing. */
const CLOCK_MARGIN_MS = 60_000;
const MAX_REPLY_PAGES = 20;

const Metadata = z.object({ event_type: z.string(), event_payload: z.record(z.string(), z.unknown()).optional() });
const Page = z.object({
  messages: z.array(z.looseObject({ ts: z.string(), metadata: Metadata.optional() })).default([]),
  response_metadata: z.object({ next_cursor: z.string().optional() }).optional(),
});

/** The metadata every message golive posts for a run carries: the run, and for a thread reply the event it tells of. */
const metadataOf = (runId: string, seq?: number) => ({ event_type: RUN_MESSAGE_EVENT, event_payload: seq === undefined ? { run_id: runId } : { run_id: runId, seq } });

function ownedBy(message: z.infer<typeof Page>['messages'][number], runId: string): Record<string, unknown> | undefined {
  const payload = message.metadata?.event_type === RUN_MESSAGE_EVENT ? message.metadata.event_payload : undefined;
  return payload?.run_id === runId ? payload : undefined;
}

/**
 * Keeps a run's Slack message up to date: one message per run, posted once and then updated in
 * place, with the events worth telling in its thread. Its timestamp is stored as soon as Slack
 * answers; a post whose answer never came (the worker died, the connection dropped) is found
 * again in the channel by its metadata, so no run ever has two messages. Rate limits and outages
 * are retried briefly here, then by Temporal; Slack's refusals (channel_not_found,
 * not_in_channel, invalid_auth) fail for good as SlackRejected.
 */
export function createRunMessenger(deps: RunMessageDeps): RunMessenger {
  const now = deps.now ?? (() => new Date());

  async function sync(input: RunMessageSync, token: string, reposted = false): Promise<RunMessageAnswer> {
    const { runId, startedAt } = input.run.state;
    // A post is never tried twice here: one whose answer was lost may have landed, and only a new
    // attempt (which looks in the channel first) can tell.
    const call = (method: string, body: Record<string, unknown>, doing: string): Promise<SlackAnswer> =>
      withSlackRetries(
        () => callSlack(deps.slack.apiUrl, token, method, body, `cannot ${doing} of run ${runId} in Slack channel ${String(body.channel)}`),
        { logger: deps.logger, maxAttempts: method === 'chat.postMessage' ? 1 : 2, maxWaitMs: 5_000, fields: { runId } },
      );

    /** The run's message in the channel, posted by an attempt that never learned its ts. */
    async function findPosted(channel: string): Promise<string | undefined> {
      let cursor: string | undefined;
      const oldest = ((Date.parse(startedAt) - CLOCK_MARGIN_MS) / 1_000).toFixed(6);
      for (let page = 0; page < (deps.historyPages ?? 3); page += 1) {
        const answer = await call('conversations.history', { channel, oldest, include_all_metadata: true, limit: 100, cursor }, 'look for the message');
        const read = Page.parse(answer);
        const found = read.messages.find((message) => {
          const payload = ownedBy(message, runId);
          return payload !== undefined && payload.seq === undefined;
        });
        if (found) return found.ts;
        cursor = read.response_metadata?.next_cursor || undefined;
        if (cursor === undefined) return undefined;
      }
      return undefined;
    }

    /** The newest event an earlier attempt already told in the thread (it may have died before storing it). */
    async function repliedSeq(message: RunMessageRow): Promise<number> {
      let newest = 0;
      let cursor: string | undefined;
      for (let page = 0; page < MAX_REPLY_PAGES; page += 1) {
        const body = { channel: message.channel, ts: message.ts, include_all_metadata: true, limit: 200, cursor };
        const read = Page.parse(await call('conversations.replies', body, 'read the thread'));
        for (const reply of read.messages) {
          const seq = ownedBy(reply, runId)?.seq;
          if (typeof seq === 'number') newest = Math.max(newest, seq);
        }
        cursor = read.response_metadata?.next_cursor || undefined;
        if (cursor === undefined) break;
      }
      return newest;
    }

    const started = input.events.find((event) => event.action === 'run.started');
    const content = { ...runMessage(input, now(), started), metadata: metadataOf(runId) };
    let message = await deps.messages.get(runId);
    // Found again in the channel, or second in a race: an earlier attempt may have replied in the thread already.
    let recovered = false;
    let postedNow = false;
    if (message === undefined) {
      const ts = await findPosted(input.channel);
      if (ts !== undefined) {
        message = await deps.messages.save({ runId, channel: input.channel, ts });
        recovered = true;
      }
    }
    if (message === undefined) {
      const answer = await call('chat.postMessage', { channel: input.channel, ...content, unfurl_links: false, unfurl_media: false }, 'post the message');
      if (typeof answer.ts !== 'string') throw new Error(`Slack posted the message of run ${runId} in channel ${input.channel} without saying its ts`);
      message = await deps.messages.save({ runId, channel: input.channel, ts: answer.ts });
      postedNow = message.ts === answer.ts;
      if (!postedNow) {
        // Another attempt stored its post first: this one is the message too many.
        const extra = answer.ts;
        await call('chat.delete', { channel: input.channel, ts: extra }, 'delete a second message').catch((error: unknown) => {
          deps.logger.warn({ runId, ts: extra, error: String(error) }, `run ${runId} has a second Slack message that could not be deleted`);
        });
        recovered = true;
      }
    }
    if (!postedNow) {
      const updated = await call('chat.update', { channel: message.channel, ts: message.ts, ...content }, 'update the message').then(() => true, (error: unknown) => {
        if (slackErrorCode(error) !== 'message_not_found' || reposted) throw error;
        return false;
      });
      if (!updated) {
        // Someone deleted the run's message: post it again, and tell the run's story in the new thread.
        deps.logger.warn({ runId, channel: message.channel, ts: message.ts }, `the Slack message of run ${runId} was deleted; posting it again`);
        await deps.messages.forget(runId, message.ts);
        return sync(input, token, true);
      }
    }
    const alreadyTold = recovered || activityAttempt() > 1 ? await repliedSeq(message) : 0;
    return replyInThread(message, input.events, alreadyTold, { runId, call, store: deps.messages });
  }

  return {
    async sync(input) {
      const token = deps.slack.token;
      if (token === undefined) return { posted: false, reason: 'this worker has no Slack bot token (SLACK_BOT_TOKEN)' };
      return withHeartbeats(sync(input, token));
    },
  };
}

interface ThreadDeps {
  runId: string;
  call: (method: string, body: Record<string, unknown>, doing: string) => Promise<SlackAnswer>;
  store: SlackMessageStore;
}

/** Replies in the thread for the events after the last one told (and after `alreadyTold`), advancing the stored mark after each. */
async function replyInThread(message: RunMessageRow, events: AuditEvent[], alreadyTold: number, deps: ThreadDeps): Promise<RunMessageAnswer> {
  let told = Math.max(message.threadSeq, alreadyTold);
  let stored = message.threadSeq;
  const pending = events.filter((event) => event.seq > told).sort((a, b) => a.seq - b.seq);
  for (const event of pending) {
    const text = threadReply(event);
    if (text !== undefined) {
      const body = { channel: message.channel, thread_ts: message.ts, text, metadata: metadataOf(deps.runId, event.seq), unfurl_links: false, unfurl_media: false };
      await deps.call('chat.postMessage', body, `reply to the message about ${event.action}`);
      await deps.store.advanceThread(deps.runId, event.seq);
      stored = event.seq;
    }
    told = event.seq;
  }
  if (told > stored) await deps.store.advanceThread(deps.runId, told);
  return { posted: true, channel: message.channel, ts: message.ts, threadSeq: told };
}
