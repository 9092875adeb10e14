import { asyncLocalStorage, CancelledFailure, type Context } from '@temporalio/activity';
import type { z } from 'zod';

/**
 * The Temporal activity context when running inside one; undefined when an action is called
 * directly (tests, CLI), so heartbeats and cancellation become no-ops there.
 */
function activityContext(): Context | undefined {
  return asyncLocalStorage.getStore();
}

/** The details each running activity heartbeated last, so the periodic heartbeat repeats them. */
const lastDetails = new WeakMap<Context, unknown>();

/**
 * Heartbeats `details`: what a retry of this attempt needs (previousAttempt), and what an
 * interrupted step hands to its compensation (actionActivity).
 */
export function heartbeat(details?: unknown): void {
  const context = activityContext();
  if (!context) return;
  if (details !== undefined) lastDetails.set(context, details);
  context.heartbeat(lastDetails.get(context));
}

/** Which attempt of its activity this is (1 outside an activity): a retry checks what an earlier attempt left behind. */
export function activityAttempt(): number {
  return activityContext()?.info.attempt ?? 1;
}

/** Aborts when Temporal cancels the activity; never aborts outside an activity. */
export function cancellationSignal(): AbortSignal | undefined {
  return activityContext()?.cancellationSignal;
}

/** Details the previous attempt of this activity heartbeated, when they have the expected shape. */
export function previousAttempt<T>(schema: z.ZodType<T>): T | undefined {
  const details = activityContext()?.info.heartbeatDetails;
  if (details === undefined) return undefined;
  const parsed = schema.safeParse(details);
  return parsed.success ? parsed.data : undefined;
}

/** Runs `work`, heartbeating (the latest details, or `details`) every `everyMs` until it settles. */
export async function withHeartbeats<T>(work: Promise<T>, details?: unknown, everyMs = 1_000): Promise<T> {
  heartbeat(details);
  const timer = setInterval(() => heartbeat(), everyMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

/**
 * Runs one action attempt as an activity that keeps Temporal informed and stops when asked: it
 * heartbeats every second (so a dead worker and a cancellation are both noticed within seconds)
 * and, once Temporal cancels it, waits for `work` to settle before reporting the cancellation,
 * so the workflow never moves on while the action may still be changing something. The
 * cancellation carries what the action knew (its last heartbeat details, or its result if it
 * finished anyway): the step's compensation reads it as the step's result.
 */
export async function asInterruptible<T>(work: () => Promise<T>): Promise<T> {
  const context = activityContext();
  if (!context) return work();
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await withHeartbeats(work()) };
  } catch (error) {
    outcome = { ok: false, error };
  }
  if (context.cancellationSignal.aborted) {
    const known = outcome.ok ? outcome.value : lastDetails.get(context);
    throw new CancelledFailure('the action stopped because its step was interrupted; it may have applied its change', known === undefined ? [] : [known]);
  }
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** Aborts after `ms`, or earlier when Temporal cancels the activity. */
export function deadlineSignal(ms: number): AbortSignal {
  const cancelled = cancellationSignal();
  return cancelled ? AbortSignal.any([AbortSignal.timeout(ms), cancelled]) : AbortSignal.timeout(ms);
}
