import { Command, Option } from 'commander';
import { SCHEDULE_CONTROLS, scheduleCommand, subcommandName, type ScheduleControl, type ScheduleKind } from '../runtime/schedule-kinds.ts';
import type { ScheduleControlAnswer } from '../runtime/schedule-controls.ts';
import type { ScheduleRequest, ScheduleSettings } from '../runtime/schedules.ts';
import type { RunStore } from '../store/runs.ts';
import { actingUser, print, roleDirectory, withStack } from './context.ts';
import { formatSchedules } from './format-drill.ts';

/**
 * The schedule commands of each kind, one implementation for all: `golive backup|drill schedule|schedules|
 * pause|unpause|trigger|delete` and `golive failover schedule|schedules|pause-schedule|unpause-schedule|trigger|unschedule`.
 */

const json = () => new Option('--json', 'print JSON');

function as(kind: ScheduleKind): Option {
  const must = kind === 'failover-drill' ? '; must be an incident commander' : '';
  return new Option('--as <user>', `who is acting (default: GOLIVE_USER, else your login name)${must}`);
}

/** "; kept --timezone Europe/Berlin, --fresh-backup (give them to change them)": what a re-schedule kept. */
function keptText(kept: ScheduleSettings): string {
  const flags = [
    kept.cron === undefined ? '' : `--cron "${kept.cron}"`,
    kept.timezone === undefined ? '' : `--timezone ${kept.timezone}`,
    kept.freshBackup ? '--fresh-backup' : '',
    kept.reason === undefined ? '' : `--reason "${kept.reason}"`,
  ].filter(Boolean);
  return flags.length === 0 ? '' : `; kept ${flags.join(', ')} (give ${flags.length === 1 ? 'it' : 'them'} to change ${flags.length === 1 ? 'it' : 'them'})`;
}

const SCHEDULE_HELP: Record<ScheduleKind, string> = {
  backup: 'run backups of a runbook on a cron schedule',
  drill: 'run restore drills of a runbook on a cron schedule',
  'failover-drill': 'run failover drills of a runbook against one of its drill environments, as you, on a cron schedule',
};

const WHO_MAY: Record<ScheduleKind, string> = {
  backup: '',
  drill: '',
  'failover-drill': '; incident commanders only, and the worker checks before every drill that you still are one',
};

interface ScheduleFlags {
  cron?: string;
  timezone?: string;
  json?: boolean;
  freshBackup?: boolean;
  environment?: string;
  reason?: string;
  as?: string;
}

function scheduleSubcommand(kind: ScheduleKind): Command {
  const command = new Command('schedule')
    .description(`${SCHEDULE_HELP[kind]} (a Temporal Schedule: durable, never fired twice, a run still going makes the next one skip); run it again to update the schedule: options not given keep their values${WHO_MAY[kind]}`)
    .argument('<runbook>', 'runbook file')
    .option('--cron <expr>', 'cron expression, like "0 3 * * *" (03:00 every day); needed when the schedule does not exist yet')
    .option('--timezone <tz>', 'IANA time zone of the cron expression, like Europe/Berlin (default UTC; give UTC to go back to it)');
  if (kind === 'drill') command.option('--fresh-backup', 'each drill takes a new backup first').option('--no-fresh-backup', 'each drill restores the newest existing backup (the default)');
  if (kind === 'failover-drill') {
    command
      .option('--environment <name>', 'the drill environment (spec.environments) whose targets each drill runs against; required every time: a schedule never fails production over')
      .option('--reason <text>', 'kept in each drill\'s record and audit trail (default "scheduled failover drill (environment NAME)")')
      .addOption(as(kind));
  }
  return command.addOption(json()).action(async (file: string, options: ScheduleFlags) => {
    const runbook = await (await import('../definitions/load.ts')).loadRunbook(file);
    const { upsertSchedule } = await import('../runtime/schedules.ts');
    await withStack(async ({ config, client, pool }) => {
      const common = { runbook, cron: options.cron, timezone: options.timezone, taskQueue: config.temporal.taskQueue, source: file };
      const request: ScheduleRequest = kind === 'failover-drill'
        ? { ...common, kind, requestedBy: actingUser(options.as, config), roles: await roleDirectory(config, pool), environment: options.environment, reason: options.reason }
        : { ...common, kind, requestedBy: 'schedule', freshBackup: options.freshBackup };
      const answer = await upsertSchedule(client, request);
      print(answer, options.json, ({ scheduleId, created, kept, nextRuns }) =>
        `${created ? 'created' : 'updated'} schedule ${scheduleId}${keptText(kept)}; next runs: ${nextRuns.map((at) => at.toISOString()).join(', ') || 'none'}`);
    });
  });
}

async function lastResult(store: RunStore, kind: ScheduleKind, runId: string): Promise<string> {
  const status = (await store.getRun(runId))?.status;
  if (status === undefined) return 'starting';
  if (kind === 'drill' && status === 'succeeded') return 'passed';
  return status;
}

/** Notes shown per schedule: enough to see why it is in the state it is. */
const NOTES_SHOWN = 3;

function schedulesSubcommand(kind: ScheduleKind): Command {
  return new Command('schedules')
    .description(`list ${kind} schedules: cron, state, next run, last run and its result, and the latest notes of who paused, unpaused, triggered or deleted them and why`)
    .addOption(json())
    .action(async (options: { json?: boolean }) => {
      const { listSchedules } = await import('../runtime/schedule-views.ts');
      const { createPgScheduleNotes } = await import('../store/schedule-notes.ts');
      await withStack(async ({ client, store, pool }) => {
        const schedules = await listSchedules(client, kind);
        const notes = await createPgScheduleNotes(pool).recent(schedules.map((schedule) => schedule.scheduleId), NOTES_SHOWN);
        for (const schedule of schedules) {
          schedule.notes = notes.get(schedule.scheduleId) ?? [];
          if (schedule.lastRun) schedule.lastResult = await lastResult(store, schedule.kind, schedule.lastRun.runId);
        }
        print({ schedules }, options.json, (answer) => formatSchedules(answer.schedules, kind));
      });
    });
}

const CONTROL_HELP: Record<ScheduleControl, string> = {
  pause: 'pause a schedule: no runs until unpaused (a trigger is refused unless given --force)',
  unpause: 'unpause a schedule',
  trigger: 'start a run of the schedule now; refused while its last run is still going, and while it is paused unless given --force',
  delete: 'delete a schedule (runs already started go on)',
};

const DONE: Record<ScheduleControl, string> = { pause: 'paused', unpause: 'unpaused', trigger: 'triggered', delete: 'deleted' };

function controlText(kind: ScheduleKind, answer: ScheduleControlAnswer, taskQueue: string): string {
  const done = `${DONE[answer.control]}${answer.forced ? ' paused' : ''} schedule ${answer.scheduleId}${answer.note ? ` (note kept: ${answer.note})` : ''}`;
  if (answer.control !== 'trigger') return done;
  if (answer.runId) return `${done}: run ${answer.runId}; follow it with \`golive status ${answer.runId}\``;
  return `${done}; its run has not started yet (is a worker polling task queue ${taskQueue}?): see \`${scheduleCommand(kind, 'schedules')}\` and \`golive runs\``;
}

function controlSubcommand(kind: ScheduleKind, control: ScheduleControl): Command {
  const failover = kind === 'failover-drill';
  const command = new Command(subcommandName(kind, control))
    .description(`${CONTROL_HELP[control]}${failover ? '; incident commanders only' : ''}`)
    .argument('<schedule>', `schedule id as listed (${kind}-NAME), the runbook name, or the runbook file`)
    .addOption(as(kind))
    .option('--comment <text>', 'why; kept with who and when in golive\'s audit trail, shown by `schedules`')
    .addOption(json());
  if (control === 'trigger') command.option('--force', 'trigger a paused schedule all the same (it stays paused)');
  return command.action(async (typed: string, options: { as?: string; comment?: string; force?: boolean; json?: boolean }) => {
    const { controlSchedule } = await import('../runtime/schedule-controls.ts');
    const { createPgScheduleNotes } = await import('../store/schedule-notes.ts');
    await withStack(async ({ config, client, pool }) => {
      const actor = { name: actingUser(options.as, config), channel: 'cli' as const };
      const roles = failover ? await roleDirectory(config, pool) : undefined;
      const answer = await controlSchedule(client, createPgScheduleNotes(pool), { kind, schedule: typed, control, actor, comment: options.comment, force: options.force, roles });
      print(answer, options.json, (done) => controlText(kind, done, config.temporal.taskQueue));
    });
  });
}

/** `schedule`, `schedules` and the four controls of schedules of `kind`, named as `golive KIND --help` lists them. */
export function scheduleCommands(kind: ScheduleKind): Command[] {
  return [scheduleSubcommand(kind), schedulesSubcommand(kind), ...SCHEDULE_CONTROLS.map((control) => controlSubcommand(kind, control))];
}
