import { Command, Option } from 'commander';
import type { DigestScheduleAnswer, DigestScheduleView } from '../runtime/posture-digest.ts';
import { UserError } from '../runtime/errors.ts';
import type { PostureDigestAnswer } from '../workflows/definitions.ts';
import { actingUser, print, withStack } from './context.ts';

/**
 * `golive posture digest`: the posture posted to a Slack channel on a cron schedule (a Temporal
 * Schedule, so it fires once however many workers run), or once now, and the schedule shown or deleted.
 */

interface DigestFlags {
  cron?: string;
  timezone?: string;
  channel?: string;
  now?: boolean;
  delete?: boolean;
  as?: string;
  comment?: string;
  json?: boolean;
  /** `golive posture`'s own options, which commander reads wherever they are typed. */
  dir?: string;
  check?: boolean;
}

function keptText(kept: DigestScheduleAnswer['kept']): string {
  const flags = [
    kept.cron === undefined ? '' : `--cron "${kept.cron}"`,
    kept.timezone === undefined ? '' : `--timezone ${kept.timezone}`,
    kept.channel === undefined ? '' : `--channel ${kept.channel}`,
  ].filter(Boolean);
  return flags.length === 0 ? '' : `; kept ${flags.join(', ')} (give ${flags.length === 1 ? 'it' : 'them'} to change ${flags.length === 1 ? 'it' : 'them'})`;
}

const scheduledText = (answer: DigestScheduleAnswer) =>
  `${answer.created ? 'created' : 'updated'} schedule ${answer.scheduleId}: the posture digest goes to ${answer.channel} at "${answer.cron}"${answer.timezone ? ` (${answer.timezone})` : ' (UTC)'}${keptText(answer.kept)}; next runs: ${answer.nextRuns.map((at) => at.toISOString()).join(', ') || 'none'}`;

const postedText = (answer: PostureDigestAnswer) =>
  `posted the posture digest to ${answer.channel} (message ${answer.ts}): ${answer.services} protected service${answer.services === 1 ? '' : 's'}, ${answer.needAttention} needing attention`;

function viewText(view: DigestScheduleView): string {
  return [
    `schedule ${view.scheduleId}: the posture digest goes to ${view.channel ?? '?'} at "${view.cron}" (${view.timezone ?? 'UTC'})${view.paused ? ', PAUSED' : ''}`,
    `next run: ${view.nextRun ?? 'none'}`,
    `last run: ${view.lastRun ? `${view.lastRun.at} (${view.lastRun.workflowId})` : 'none yet'}`,
  ].join('\n');
}

/** `golive posture`'s options do not apply here: refused rather than ignored. */
function refuseParentOptions(flags: DigestFlags): void {
  if (flags.dir !== undefined) throw new UserError("--dir does not apply to `golive posture digest`: the worker reads its own runbooks folder (GOLIVE_RUNBOOKS_DIR) when it posts the digest");
  if (flags.check) throw new UserError('--check does not apply to `golive posture digest`; use it with `golive posture`');
}

export function digestCommand(): Command {
  return new Command('digest')
    .description('post the posture of every protected service to a Slack channel: on a cron schedule (a Temporal Schedule, posting once however many workers run; run it again to change it: options not given keep their values), once with --now, or stop with --delete; without options, show the schedule')
    .option('--cron <expr>', 'cron expression, like "0 9 * * 1" (09:00 every Monday); needed when the schedule does not exist yet')
    .option('--timezone <tz>', 'IANA time zone of the cron expression, like Europe/Berlin (default UTC; give UTC to go back to it)')
    .option('--channel <id>', 'the Slack channel ID to post to, like C0123ABCD (default GOLIVE_SLACK_CHANNEL)')
    .addOption(new Option('--now', 'post one digest now, through a worker, and wait for it').conflicts(['cron', 'timezone', 'delete']))
    .addOption(new Option('--delete', 'delete the schedule (a digest being posted still arrives)').conflicts(['cron', 'timezone', 'channel']))
    .option('--as <user>', 'with --delete: who is deleting it (default: GOLIVE_USER, else your login name)')
    .option('--comment <text>', "with --delete: why; kept with who and when in golive's audit trail")
    .addOption(new Option('--json', 'print JSON'))
    .action(async (_options: DigestFlags, command: Command) => {
      // Options `golive posture` also takes (--json) are read by it first: take them from there too.
      const flags = command.optsWithGlobals<DigestFlags>();
      refuseParentOptions(flags);
      if (!flags.delete && (flags.as !== undefined || flags.comment !== undefined)) throw new UserError('--as and --comment go with --delete; nothing changed');
      const digest = await import('../runtime/posture-digest.ts');
      if (flags.channel !== undefined) digest.checkChannel(flags.channel);
      await withStack(async ({ config, client, pool }) => {
        const taskQueue = config.temporal.taskQueue;
        if (flags.now) {
          const channel = digest.digestChannel('post the posture digest', flags.channel, config.slack.channel);
          if (!flags.json) console.error(`posting the posture digest to ${channel} through a worker on task queue ${taskQueue}…`);
          print(await digest.postDigestNow(client, { channel, taskQueue }), flags.json, postedText);
        } else if (flags.delete) {
          const { createPgScheduleNotes } = await import('../store/schedule-notes.ts');
          const actor = { name: actingUser(flags.as, config), channel: 'cli' as const };
          const answer = await digest.deleteDigestSchedule(client, createPgScheduleNotes(pool), actor, flags.comment);
          print(answer, flags.json, (done) => `deleted schedule ${done.scheduleId}${done.note ? ` (note kept: ${done.note})` : ''}`);
        } else if (flags.cron !== undefined || flags.timezone !== undefined || flags.channel !== undefined) {
          const answer = await digest.upsertDigestSchedule(client, { cron: flags.cron, timezone: flags.timezone, channel: flags.channel, defaultChannel: config.slack.channel, taskQueue });
          print(answer, flags.json, scheduledText);
        } else {
          print(await digest.viewDigestSchedule(client), flags.json, viewText);
        }
      });
    });
}
