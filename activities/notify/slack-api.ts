import { ApplicationFailure } from '@temporalio/common';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { z } from 'zod';
import { businessFailure, reason } from '../../definitions/failures.ts';
import { cancellationSignal, deadlineSignal } from '../context.ts';

/**
 * One way to call Slack's Web API: a bearer token (never logged, never echoed), JSON bodies for
 * the write methods that take them and form fields for the rest, and Slack's answers sorted into
 * "try again later" (Transient) and "this will not work" (a non-retryable SlackRejected naming
 * Slack's error code).
 */

const REQUEST_TIMEOUT_MS = 10_000;
/** Slack `error` codes that mean "try again later"; every other code is a setup mistake. */
const TRANSIENT_SLACK_ERRORS = new Set(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);
/** Methods that take a JSON body; Slack's read methods (conversations.history) take form fields only. */
const JSON_METHODS = new Set(['chat.postMessage', 'chat.update', 'chat.delete', 'chat.postEphemeral']);

const SlackAnswer = z.looseObject({ ok: z.boolean(), error: z.string().optional() });
export type SlackAnswer = z.infer<typeof SlackAnswer>;

/** A try that may succeed later, and how long Slack asked us to wait (ms) if it said. */
export class Transient extends Error {
  constructor(message: string, readonly retryAfterMs?: number) {
    super(message);
  }
}

function retryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1_000 : undefined;
}

function encode(method: string, body: Record<string, unknown>): { contentType: string; text: string } {
  if (JSON_METHODS.has(method)) return { contentType: 'application/json; charset=utf-8', text: JSON.stringify(body) };
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(body)) {
    if (value !== undefined) form.set(key, typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value));
  }
  return { contentType: 'application/x-www-form-urlencoded', text: form.toString() };
}

/**
 * One Web API call. Returns Slack's answer when it says ok; throws Transient for rate limits,
 * outages and network errors, and a non-retryable `SlackRejected` for every other answer.
 * `context` opens every error message: what golive was doing, for whom.
 */
export async function callSlack(apiUrl: string, token: string, method: string, body: Record<string, unknown>, context: string): Promise<SlackAnswer> {
  const url = `${apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`}${method}`;
  const { contentType, text } = encode(method, body);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': contentType, Authorization: `Bearer ${token}` },
      body: text,
      signal: deadlineSignal(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw new Transient(`${context}: ${reason(error)}`);
  }
  const wait = retryAfter(response.headers.get('retry-after'));
  if (response.status === 429) throw new Transient(`${context}: Slack answered ratelimited (HTTP 429)`, wait);
  if (response.status >= 500) throw new Transient(`${context}: Slack answered HTTP ${response.status}`, wait);
  const answer = SlackAnswer.safeParse(await response.json().catch(() => undefined));
  if (!answer.success) {
    throw businessFailure(`${context}: Slack answered HTTP ${response.status} without a Web API body; is SLACK_API_URL right?`, 'SlackRejected');
  }
  if (answer.data.ok) return answer.data;
  const code = answer.data.error ?? 'unknown_error';
  if (TRANSIENT_SLACK_ERRORS.has(code)) throw new Transient(`${context}: Slack answered ${code}`, wait);
  throw ApplicationFailure.create({ message: `${context}: Slack answered ${code}`, type: 'SlackRejected', nonRetryable: true, details: [code] });
}

/** Slack's error code (`message_not_found`) of a refusal callSlack threw; undefined for anything else. */
export function slackErrorCode(error: unknown): string | undefined {
  if (!(error instanceof ApplicationFailure) || error.type !== 'SlackRejected') return undefined;
  const [code] = error.details ?? [];
  return typeof code === 'string' ? code : undefined;
}

export interface RetryOptions {
  logger: Pick<Logger, 'warn'>;
  /** Tries in all (default 4). */
  maxAttempts?: number;
  /** First wait between tries, doubled each time; Slack's Retry-After wins when it sends one (default 1s). */
  backoffMs?: number;
  /** Longest wait for one retry; a longer Retry-After gives up and leaves the retry to Temporal (default 30s). */
  maxWaitMs?: number;
  /** Logged with each retry (the run id). */
  fields?: Record<string, unknown>;
}

/**
 * Runs `call` until it answers, waiting between Transient failures as Slack asks; then gives up
 * with a plain Error, so Temporal retries the activity. A cancelled activity stops waiting at once.
 */
export async function withSlackRetries<T>(call: () => Promise<T>, options: RetryOptions): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 4;
  const backoffMs = options.backoffMs ?? 1_000;
  const maxWaitMs = options.maxWaitMs ?? 30_000;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof Transient)) throw error;
      const wait = error.retryAfterMs ?? backoffMs * 2 ** (attempt - 1);
      const givenUp = new Error(`${error.message} (gave up after ${attempt} attempt${attempt === 1 ? '' : 's'})`);
      const cancelled = cancellationSignal();
      if (attempt >= maxAttempts || wait > maxWaitMs || cancelled?.aborted) throw givenUp;
      options.logger.warn({ ...options.fields, attempt, waitMs: wait }, `${error.message}; retrying in ${wait}ms`);
      await delay(wait, undefined, { signal: cancelled }).catch(() => {
        throw givenUp;
      });
    }
  }
}
