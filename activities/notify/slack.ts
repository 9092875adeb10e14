import type { DrillNotice } from '../../store/protection.ts';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { z } from 'zod';
import { drillResultMessage, drillResultText } from '../../slack/blocks/drill-result.ts';
import type { DrillRecord, RolloutRecord } from '../../workflows/definitions.ts';
import { cancellationSignal, deadlineSignal } from '../context.ts';
import { businessFailure, reason } from '../../definitions/failures.ts';

export interface NotifierOptions {
  /** Drill results go to Slack when both token and channel are set; otherwise to the log. */
  slack: { token?: string; channel?: string; apiUrl: string };
  logger: Pick<Logger, 'info' | 'warn'>;
  /** Tries per message on rate limits, Slack outages and network errors (default 4). */
  maxAttempts?: number;
  /** First wait between tries, doubled each time; Slack's Retry-After wins when it sends one (default 1s). */
  backoffMs?: number;
  /** Longest wait for one retry; a longer Retry-After gives up and leaves the retry to Temporal (default 30s). */
  maxWaitMs?: number;
}

export interface Notifier {
  drillFinished(record: DrillRecord): Promise<DrillNotice>;
  /** A rollout whose flag was rolled back: who must know that users lost the new feature, and why. */
  rolloutRolledBack(record: RolloutRecord): Promise<void>;
}

/** One line a release manager reads: which flag went back where, and why. */
export function rollbackText(record: RolloutRecord): string {
  const back = record.rolledBack;
  return `:rewind: rollout ${record.runId} of ${record.service}: flag ${record.flag.key} rolled back from ${back?.from ?? '?'}% to ${back?.to ?? '?'}% — ${back?.cause ?? record.reason ?? 'rolled back'}`;
}

const REQUEST_TIMEOUT_MS = 10_000;
/** Slack `error` codes that mean "try again later"; every other code is a setup mistake. */
const TRANSIENT_SLACK_ERRORS = new Set(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

const SlackAnswer = z.object({ ok: z.boolean(), error: z.string().optional(), ts: z.string().optional() });

/** A try that may succeed later, and how long Slack asked us to wait (ms) if it said. */
class Transient extends Error {
  constructor(message: string, readonly retryAfterMs?: number) {
    super(message);
  }
}

function retryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1_000 : undefined;
}

interface SlackPost {
  url: string;
  token: string;
  body: Record<string, unknown>;
  context: string;
}

/** One chat.postMessage call: the message ts, or Transient, or a business failure naming Slack's error code. */
async function postOnce(post: SlackPost): Promise<string | undefined> {
  let response: Response;
  try {
    response = await fetch(post.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json; charset=utf-8', Authorization: `Bearer ${post.token}` },
      body: JSON.stringify(post.body),
      signal: deadlineSignal(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw new Transient(`${post.context}: ${reason(error)}`);
  }
  const wait = retryAfter(response.headers.get('retry-after'));
  if (response.status === 429) throw new Transient(`${post.context}: Slack answered ratelimited (HTTP 429)`, wait);
  if (response.status >= 500) throw new Transient(`${post.context}: Slack answered HTTP ${response.status}`, wait);
  const answer = SlackAnswer.safeParse(await response.json().catch(() => undefined));
  if (!answer.success) {
    throw businessFailure(`${post.context}: Slack answered HTTP ${response.status} without a Web API body; is SLACK_API_URL right?`, 'SlackRejected');
  }
  if (answer.data.ok) return answer.data.ts;
  const code = answer.data.error ?? 'unknown_error';
  if (TRANSIENT_SLACK_ERRORS.has(code)) throw new Transient(`${post.context}: Slack answered ${code}`, wait);
  throw businessFailure(`${post.context}: Slack answered ${code}`, 'SlackRejected');
}

/**
 * Announces finished drills: a Block Kit message to the configured Slack channel, or a
 * structured log line when Slack is not configured. Rate limits, Slack outages and network
 * errors are retried here (honouring Retry-After) and then thrown plainly, so Temporal retries
 * the activity; Slack's other answers (invalid_auth, channel_not_found, ...) fail for good.
 */
export function createNotifier(options: NotifierOptions): Notifier {
  const { token, channel, apiUrl } = options.slack;
  const maxAttempts = options.maxAttempts ?? 4;
  const backoffMs = options.backoffMs ?? 1_000;
  const maxWaitMs = options.maxWaitMs ?? 30_000;
  const url = `${apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`}chat.postMessage`;

  async function toSlack(record: DrillRecord, slackToken: string, slackChannel: string): Promise<DrillNotice> {
    const post: SlackPost = {
      url,
      token: slackToken,
      body: { channel: slackChannel, ...drillResultMessage(record), unfurl_links: false, unfurl_media: false },
      context: `cannot post the ${record.service} drill result (run ${record.runId}) to Slack channel ${slackChannel}`,
    };
    for (let attempt = 1; ; attempt += 1) {
      try {
        return { channel: 'slack', ts: await postOnce(post) };
      } catch (error) {
        if (!(error instanceof Transient)) throw error;
        const wait = error.retryAfterMs ?? backoffMs * 2 ** (attempt - 1);
        const givenUp = new Error(`${error.message} (gave up after ${attempt} attempt${attempt === 1 ? '' : 's'})`);
        const cancelled = cancellationSignal();
        if (attempt >= maxAttempts || wait > maxWaitMs || cancelled?.aborted) throw givenUp;
        options.logger.warn({ runId: record.runId, attempt, waitMs: wait }, `${error.message}; retrying in ${wait}ms`);
        await delay(wait, undefined, { signal: cancelled }).catch(() => {
          throw givenUp;
        });
      }
    }
  }

  return {
    async rolloutRolledBack(record) {
      if (token !== undefined && channel !== undefined) {
        const post = { url, token, body: { channel, text: rollbackText(record) }, context: `cannot post the rollback of ${record.runId} to Slack channel ${channel}` };
        try {
          await postOnce(post);
        } catch (error) {
          // Rate limits and outages: Temporal retries the activity.
          throw error instanceof Transient ? new Error(error.message) : error;
        }
        return;
      }
      const { runId, service, flag, rolledBack } = record;
      options.logger.warn({ runId, service, flag: flag.key, rolledBack }, rollbackText(record));
    },
    async drillFinished(record) {
      if (token !== undefined && channel !== undefined) return toSlack(record, token, channel);
      const { runId, service, status, measured, objectives } = record;
      options.logger.info(
        { runId, service, status, measured, objectives, reason: record.reason, backupId: record.backup?.backupId },
        drillResultText(record),
      );
      return { channel: 'log' };
    },
  };
}
