import { ScheduleOverlapPolicy, WorkflowFailedError, type Client, type ScheduleDescription, type ScheduleOptions } from '@temporalio/client';
import { slackChannelId } from '../definitions/fields.ts';
import type { Actor } from '../store/identity.ts';
import type { ScheduleNotes } from '../store/schedule-notes.ts';
import { POSTURE_DIGEST_WORKFLOW, type PostureDigestAnswer, type PostureDigestInput } from '../workflows/definitions.ts';
import { NotFoundError, UserError } from './errors.ts';
import { newRunId, requireWorker } from './runs.ts';
import { applyControl } from './schedule-controls.ts';
import { describeSchedule, pinnedRun } from './schedule-views.ts';
import { checkCron, settle, writeSchedule } from './schedules.ts';

/**
 * The posture digest's Temporal Schedule: one per namespace, `posture-digest`, firing
 * postureDigestWorkflow, which posts the posture to a Slack channel. A Schedule, never a timer in a
 * process: however many workers and servers run, each firing posts once.
 */

export const DIGEST_SCHEDULE_ID = 'posture-digest';
/** The memo kind of the digest's schedule; not a run schedule, so `golive drill|backup|failover schedules` leave it out. */
const DIGEST_KIND = 'posture-digest';
const FIRST = 'golive posture digest --cron "0 9 * * 1"';

/** What `golive posture digest` sets; each one not given again is kept from the schedule as it was. */
export interface DigestSettings {
  cron?: string;
  timezone?: string;
  channel?: string;
}

export interface DigestScheduleAnswer {
  scheduleId: string;
  created: boolean;
  cron: string;
  timezone?: string;
  channel: string;
  /** The settings not given this time, kept from the schedule as it was. */
  kept: DigestSettings;
  nextRuns: Date[];
}

export interface DigestScheduleView {
  scheduleId: string;
  cron: string;
  timezone?: string;
  channel?: string;
  paused: boolean;
  nextRun?: string;
  lastRun?: { workflowId: string; at: string };
}

/** A channel a person typed, checked: an ID, never a name. */
export function checkChannel(channel: string, option = '--channel'): string {
  const parsed = slackChannelId.safeParse(channel);
  if (!parsed.success) throw new UserError(`${option} ${channel}: ${parsed.error.issues[0]?.message ?? 'must be a Slack channel ID like C0123ABCD'}; nothing changed`);
  return parsed.data;
}

/** The channel to post to: the one given, else the fallbacks in order; none is a mistake naming both ways to give one. */
export function digestChannel(doing: string, ...candidates: Array<string | undefined>): string {
  const channel = candidates.find((candidate) => candidate !== undefined);
  if (channel === undefined) throw new UserError(`cannot ${doing}: no Slack channel to post it to; give --channel C0123ABCD, or set GOLIVE_SLACK_CHANNEL`);
  return checkChannel(channel);
}

function settingsOf(description: ScheduleDescription): DigestSettings {
  const crons = (description.spec.calendars ?? []).map((calendar) => calendar.comment);
  const channel = pinnedRun(description.action.args)?.channel;
  return { cron: crons.length === 1 ? crons[0] : undefined, timezone: description.spec.timezone, channel: typeof channel === 'string' ? channel : undefined };
}

/** The digest's schedule, or undefined; a schedule of that id golive's digest did not make is refused. */
async function digestSchedule(client: Client): Promise<ScheduleDescription | undefined> {
  const found = await describeSchedule(client, DIGEST_SCHEDULE_ID);
  if (found && found.memo?.kind !== DIGEST_KIND) throw new UserError(`schedule ${DIGEST_SCHEDULE_ID} was not made by \`golive posture digest\`; golive leaves it alone; nothing changed`);
  return found;
}

/** Creates the digest's schedule, or updates it in place keeping the settings not given again; the channel falls back to `defaultChannel` (GOLIVE_SLACK_CHANNEL). */
export async function upsertDigestSchedule(client: Client, request: DigestSettings & { defaultChannel?: string; taskQueue: string }): Promise<DigestScheduleAnswer> {
  if (request.channel !== undefined) checkChannel(request.channel);
  const existing = await digestSchedule(client);
  const { settings, kept } = settle<DigestSettings>(request, existing ? settingsOf(existing) : {}, ['cron', 'timezone', 'channel']);
  const { cron, timezone } = settings;
  if (cron === undefined) throw new UserError(`there is no posture digest schedule yet, so give --cron, like \`${FIRST}\` (09:00 every Monday)`);
  checkCron(cron);
  const channel = digestChannel('schedule the posture digest', settings.channel, request.defaultChannel);
  const input: PostureDigestInput = { channel };
  const options: ScheduleOptions = {
    scheduleId: DIGEST_SCHEDULE_ID,
    // The comment comes back on describe, so the expression is shown as written.
    spec: { cronExpressions: [`${cron} #${cron}`], timezone },
    // Temporal appends the scheduled time to this id: each firing is a digest of its own, found again by it on a retry.
    action: { type: 'startWorkflow', workflowType: POSTURE_DIGEST_WORKFLOW, workflowId: DIGEST_SCHEDULE_ID, taskQueue: request.taskQueue, args: [input] },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10 minutes' },
    memo: { kind: DIGEST_KIND },
  };
  const nextRuns = await writeSchedule(client, options, { existing: existing !== undefined, what: 'the posture digest', cron, timezone });
  return { scheduleId: DIGEST_SCHEDULE_ID, created: !existing, cron, timezone, channel, kept, nextRuns };
}

/** The digest's schedule as `golive posture digest` shows it; NotFoundError when there is none. */
export async function viewDigestSchedule(client: Client): Promise<DigestScheduleView> {
  const found = await digestSchedule(client);
  if (!found) throw new NotFoundError(`there is no posture digest schedule; create one with \`${FIRST}\``);
  const { cron, timezone, channel } = settingsOf(found);
  const last = found.info.recentActions.at(-1);
  const lastRun = last && 'workflow' in last.action ? { workflowId: last.action.workflow.workflowId, at: last.takenAt.toISOString() } : undefined;
  return {
    scheduleId: DIGEST_SCHEDULE_ID, cron: cron ?? '(calendar)', timezone, channel, paused: found.state.paused,
    nextRun: found.info.nextActionTimes[0]?.toISOString(), lastRun,
  };
}

/** Deletes the digest's schedule (a digest being posted goes on), keeping who, when and why in golive's audit trail. */
export async function deleteDigestSchedule(client: Client, notes: ScheduleNotes, actor: Actor, comment?: string): Promise<{ scheduleId: string; control: 'delete'; actor: string; note?: string }> {
  const found = await digestSchedule(client);
  if (!found) throw new NotFoundError(`there is no posture digest schedule to delete; nothing changed (\`${FIRST}\` creates one)`);
  await notes.record({ scheduleId: DIGEST_SCHEDULE_ID, control: 'delete', note: comment }, actor, () => applyControl(client, DIGEST_SCHEDULE_ID, 'delete', `delete by ${actor.name}`));
  return { scheduleId: DIGEST_SCHEDULE_ID, control: 'delete', actor: actor.name, note: comment };
}

/** The innermost message of a failed workflow: the activity's own words. */
function innermost(error: Error): string {
  let deepest = error;
  while (deepest.cause instanceof Error) deepest = deepest.cause;
  return deepest.message;
}

/** Posts one digest now, through a worker (it reads the posture and holds the Slack token), and waits for it. */
export async function postDigestNow(client: Client, request: { channel: string; taskQueue: string }): Promise<PostureDigestAnswer> {
  await requireWorker(client, request.taskQueue);
  const input: PostureDigestInput = { channel: request.channel };
  try {
    return await client.workflow.execute<(input: PostureDigestInput) => Promise<PostureDigestAnswer>>(POSTURE_DIGEST_WORKFLOW, { workflowId: newRunId(DIGEST_SCHEDULE_ID), taskQueue: request.taskQueue, args: [input] });
  } catch (error) {
    if (error instanceof WorkflowFailedError) throw new Error(`the posture digest was not posted: ${innermost(error)}`);
    throw error;
  }
}
