/** The kinds of golive schedules and the commands that act on each: light enough for any command to load. */

/** What a schedule starts: a backup, a restore drill, or a failover drill against a drill environment. */
export type ScheduleKind = 'backup' | 'drill' | 'failover-drill';
export const SCHEDULE_KINDS: readonly ScheduleKind[] = ['backup', 'drill', 'failover-drill'];

export const isScheduleKind = (value: unknown): value is ScheduleKind => SCHEDULE_KINDS.some((kind) => kind === value);

export type ScheduleControl = 'pause' | 'unpause' | 'trigger' | 'delete';
export const SCHEDULE_CONTROLS: readonly ScheduleControl[] = ['pause', 'unpause', 'trigger', 'delete'];

/** What a person types after `golive` for each schedule command; under `failover`, `pause` is already the run control. */
const COMMANDS: Record<ScheduleKind, Record<ScheduleControl | 'schedule' | 'schedules', string>> = {
  backup: { schedule: 'backup schedule', schedules: 'backup schedules', pause: 'backup pause', unpause: 'backup unpause', trigger: 'backup trigger', delete: 'backup delete' },
  drill: { schedule: 'drill schedule', schedules: 'drill schedules', pause: 'drill pause', unpause: 'drill unpause', trigger: 'drill trigger', delete: 'drill delete' },
  'failover-drill': {
    schedule: 'failover schedule', schedules: 'failover schedules',
    pause: 'failover pause-schedule', unpause: 'failover unpause-schedule', trigger: 'failover trigger', delete: 'failover unschedule',
  },
};

/** `golive failover pause-schedule`: the command of `command` for schedules of `kind`. */
export function scheduleCommand(kind: ScheduleKind, command: ScheduleControl | 'schedule' | 'schedules'): string {
  return `golive ${COMMANDS[kind][command]}`;
}

/** The subcommand's own name: `pause-schedule` for `golive failover pause-schedule`. */
export function subcommandName(kind: ScheduleKind, command: ScheduleControl | 'schedule' | 'schedules'): string {
  return COMMANDS[kind][command].split(' ').at(-1) ?? command;
}

/** How to create the first schedule of a kind, as a person types it. */
export function firstSchedule(kind: ScheduleKind): string {
  const environment = kind === 'failover-drill' ? ' --environment ENV' : '';
  return `${scheduleCommand(kind, 'schedule')} RUNBOOK${environment} --cron "0 3 * * *"`;
}

/** "cannot schedule failover drills of …": what schedules of each kind start, in words. */
export const KIND_NOUN: Record<ScheduleKind, string> = { backup: 'backups', drill: 'drills', 'failover-drill': 'failover drills' };
