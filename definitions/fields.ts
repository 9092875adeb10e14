import { z } from 'zod';
import { DURATION_HINT, parseDuration } from './duration.ts';
import { describeValue } from './issues.ts';

/** Field types shared by every definition kind. */

/**
 * Duration text like `30s` of at least `minimumMs`. A negative one (`-5m`) is told the same as
 * one too short; a bare number (`timeout: 0`) is told what a duration looks like.
 */
function durationText(minimumMs: number, tooShort: string) {
  const notText = (issue: { input?: unknown }) => `must be ${DURATION_HINT}, got ${describeValue(issue.input)}`;
  return z.string({ error: notText }).superRefine((text, ctx) => {
    const negative = text.startsWith('-');
    const ms = parseDuration(negative ? text.slice(1) : text);
    if (ms === undefined) ctx.addIssue({ code: 'custom', message: `must be ${DURATION_HINT}` });
    else if (negative || ms < minimumMs) ctx.addIssue({ code: 'custom', message: tooShort });
  });
}

/** Timeouts, waits, bakes, pauses, windows, retention ages: at zero they would expire at once. */
export const positiveDuration = durationText(1, 'must be longer than 0s');
/** An RPO or RTO: `0s` is a real objective (no data lost, no downtime: active-active). */
export const objectiveDuration = durationText(0, 'must be 0s or longer');

export const identifier = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be lower-case letters, digits and dashes (like check-lag)');
export const nonEmpty = z.string().trim().min(1);
