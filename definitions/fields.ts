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

/** A Slack channel ID (`C0123ABCD`, private `G…`): names change, IDs don't, and golive reads a channel's history by ID. */
export const SLACK_CHANNEL_ID = /^[CG][A-Z0-9]{6,}$/;
export const slackChannelId = z
  .string()
  .trim()
  .regex(SLACK_CHANNEL_ID, "must be a Slack channel ID like C0123ABCD (in Slack: the channel's details, at the bottom), not its name");
/** A Slack user group ID (`S0614TZR7`): its members hold the roles GOLIVE_SLACK_GROUP_ROLES gives it. */
export const SLACK_GROUP_ID = /^S[A-Z0-9]{6,}$/;
