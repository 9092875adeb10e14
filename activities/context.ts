import { asyncLocalStorage, type Context } from '@temporalio/activity';
import type { z } from 'zod';

/**
 * The Temporal activity context when running inside one; undefined when an action is called
 * directly (tests, CLI), so heartbeats and cancellation become no-ops there.
 */
function activityContext(): Context | undefined {
  return asyncLocalStorage.getStore();
}

export function heartbeat(details?: unknown): void {
  activityContext()?.heartbeat(details);
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

/** Runs `work`, heartbeating `details` every `everyMs` until it settles. */
export async function withHeartbeats<T>(work: Promise<T>, details?: unknown, everyMs = 1_000): Promise<T> {
  heartbeat(details);
  const timer = setInterval(() => heartbeat(details), everyMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

/** Aborts after `ms`, or earlier when Temporal cancels the activity. */
export function deadlineSignal(ms: number): AbortSignal {
  const cancelled = cancellationSignal();
  return cancelled ? AbortSignal.any([AbortSignal.timeout(ms), cancelled]) : AbortSignal.timeout(ms);
}
