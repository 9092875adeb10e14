import type { Client } from '@temporalio/client';
import { Command, Option } from 'commander';
import type pg from 'pg';
import { loadConfig } from '../config/env.ts';
import { resolveTarget } from '../definitions/targets.ts';
import { listManifests } from '../backups/manifests.ts';
import { withBackupStore, type StoreTarget } from '../backups/store.ts';
import { loadRunbook } from '../definitions/load.ts';
import type { Runbook } from '../definitions/schema.ts';
import { requireProtection, startProtectionRun, type ProtectionKind } from '../runtime/protection.ts';
import { controlSchedule, SCHEDULE_CONTROLS, type ScheduleControl, type ScheduleControlAnswer } from '../runtime/schedule-controls.ts';
import { listSchedules, upsertSchedule, type ScheduleSettings } from '../runtime/schedules.ts';
import { waitForRun } from '../runtime/runs.ts';
import { UserError } from '../runtime/errors.ts';
import { createPgProtectionStore } from '../store/protection.ts';
import { createPgScheduleNotes } from '../store/schedule-notes.ts';
import type { RunStore } from '../store/runs.ts';
import type { DrillRecord } from '../workflows/definitions.ts';
import { actingUser, print, withStack } from './context.ts';
import { formatBackup, formatBackupList, formatDrill, formatSchedules } from './format-drill.ts';

const json = () => new Option('--json', 'print JSON');
const as = () => new Option('--as <user>', 'who is acting (default: GOLIVE_USER, else your login name)');

/** Waits for the drill to end, whatever its outcome, and reads the record it wrote. */
async function drillOutcome(client: Client, pool: pg.Pool, runId: string): Promise<DrillRecord> {
  await client.workflow.getHandle(runId).result().catch(() => undefined);
  const record = await createPgProtectionStore(pool).getDrill(runId);
  if (!record) throw new UserError(`drill ${runId} ended without a record; see \`golive status ${runId}\` and \`golive timeline ${runId}\``);
  return record;
}

function runCommand(kind: ProtectionKind): Command {
  const command = new Command('run')
    .description(kind === 'drill'
      ? 'restore the newest backup into a scratch database, verify it, measure RPO/RTO against the objectives'
      : 'back up the runbook\'s source database into its backup store, then apply retention')
    .argument('<runbook>', 'runbook file with spec.backup' + (kind === 'drill' ? ' and spec.drill' : ''))
    .addOption(as())
    .option('--detach', 'print only the run id and return at once (`R=$(golive drill run … --detach)`)')
    .addOption(json());
  if (kind === 'drill') command.option('--fresh-backup', 'take a new backup first instead of restoring the newest existing one');
  return command.action(async (file: string, options: { as?: string; detach?: boolean; json?: boolean; freshBackup?: boolean }) => {
    const runbook = await loadRunbook(file);
    await withStack(async ({ config, client, store, pool }) => {
      const requestedBy = actingUser(options.as, config);
      const runId = await startProtectionRun(client, { kind, runbook, requestedBy, taskQueue: config.temporal.taskQueue, source: file, freshBackup: options.freshBackup });
      if (options.detach) {
        if (!options.json) console.error(`started ${kind} ${runId}; follow it with \`golive status ${runId}\``);
        print({ runId }, options.json, () => runId);
        return;
      }
      if (!options.json) console.log(`started ${kind} ${runId}; waiting for it to finish (Ctrl-C leaves it running)`);
      if (kind === 'drill') {
        const record = await drillOutcome(client, pool, runId);
        print(record, options.json, formatDrill);
        if (record.status !== 'passed') process.exitCode = 1;
      } else {
        const state = await waitForRun(client, store, runId);
        print(state, options.json, formatBackup);
        if (state.status !== 'succeeded') process.exitCode = 1;
      }
    });
  });
}

/** "; kept --timezone Europe/Berlin, --fresh-backup (give them to change them)": what a re-schedule kept. */
function keptText(kept: ScheduleSettings): string {
  const flags = [
    kept.cron === undefined ? '' : `--cron "${kept.cron}"`,
    kept.timezone === undefined ? '' : `--timezone ${kept.timezone}`,
    kept.freshBackup ? '--fresh-backup' : '',
  ].filter(Boolean);
  return flags.length === 0 ? '' : `; kept ${flags.join(', ')} (give ${flags.length === 1 ? 'it' : 'them'} to change ${flags.length === 1 ? 'it' : 'them'})`;
}

function scheduleCommand(kind: ProtectionKind): Command {
  const command = new Command('schedule')
    .description(`run ${kind}s of a runbook on a cron schedule (a Temporal Schedule: durable, never fired twice, a run still going makes the next one skip); run it again to update the schedule: options not given keep their values`)
    .argument('<runbook>', 'runbook file')
    .option('--cron <expr>', 'cron expression, like "0 3 * * *" (03:00 every day); needed when the schedule does not exist yet')
    .option('--timezone <tz>', 'IANA time zone of the cron expression, like Europe/Berlin (default UTC; give UTC to go back to it)')
    .addOption(json());
  if (kind === 'drill') command.option('--fresh-backup', 'each drill takes a new backup first').option('--no-fresh-backup', 'each drill restores the newest existing backup (the default)');
  return command.action(async (file: string, options: { cron?: string; timezone?: string; json?: boolean; freshBackup?: boolean }) => {
    const runbook = await loadRunbook(file);
    await withStack(async ({ config, client }) => {
      const answer = await upsertSchedule(client, {
        kind, runbook, cron: options.cron, timezone: options.timezone, requestedBy: 'schedule', taskQueue: config.temporal.taskQueue, source: file, freshBackup: options.freshBackup,
      });
      print(answer, options.json, ({ scheduleId, created, kept, nextRuns }) =>
        `${created ? 'created' : 'updated'} schedule ${scheduleId}${keptText(kept)}; next runs: ${nextRuns.map((at) => at.toISOString()).join(', ') || 'none'}`);
    });
  });
}

async function lastResult(store: RunStore, kind: string, runId: string): Promise<string> {
  const status = (await store.getRun(runId))?.status;
  if (status === undefined) return 'starting';
  if (kind === 'drill' && status === 'succeeded') return 'passed';
  return status;
}

/** Notes shown per schedule: enough to see why it is in the state it is. */
const NOTES_SHOWN = 3;

function schedulesCommand(kind: ProtectionKind): Command {
  return new Command('schedules')
    .description(`list ${kind} schedules: cron, state, next run, last run and its result, and the latest notes of who paused, unpaused, triggered or deleted them and why`)
    .addOption(json())
    .action(async (options: { json?: boolean }) => {
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

function controlText(kind: ProtectionKind, answer: ScheduleControlAnswer, taskQueue: string): string {
  const done = `${DONE[answer.control]}${answer.forced ? ' paused' : ''} schedule ${answer.scheduleId}${answer.note ? ` (note kept: ${answer.note})` : ''}`;
  if (answer.control !== 'trigger') return done;
  if (answer.runId) return `${done}: run ${answer.runId}; follow it with \`golive status ${answer.runId}\``;
  return `${done}; its run has not started yet (is a worker polling task queue ${taskQueue}?): see \`golive ${kind} schedules\` and \`golive runs\``;
}

function scheduleControlCommand(kind: ProtectionKind, control: ScheduleControl): Command {
  const command = new Command(control)
    .description(CONTROL_HELP[control])
    .argument('<schedule>', `schedule id as listed (${kind}-NAME), the runbook name, or the runbook file`)
    .addOption(as())
    .option('--comment <text>', 'why; kept with who and when in golive\'s audit trail, shown by `schedules`')
    .addOption(json());
  if (control === 'trigger') command.option('--force', 'trigger a paused schedule all the same (it stays paused)');
  return command.action(async (typed: string, options: { as?: string; comment?: string; force?: boolean; json?: boolean }) => {
    await withStack(async ({ config, client, pool }) => {
      const actor = { name: actingUser(options.as, config), channel: 'cli' as const };
      const answer = await controlSchedule(client, createPgScheduleNotes(pool), { kind, schedule: typed, control, actor, comment: options.comment, force: options.force });
      print(answer, options.json, (done) => controlText(kind, done, config.temporal.taskQueue));
    });
  });
}

/** The runbook's backup store, its `${VAR}` references filled in from the environment. */
function backupStoreOf(runbook: Runbook, file: string): StoreTarget {
  requireProtection(runbook, 'backup', file);
  const name = runbook.spec.backup!.store;
  const spec = runbook.spec.targets[name];
  if (spec?.type !== 'filesystem' && spec?.type !== 's3') throw new UserError(`${file}: spec.backup.store names ${name}, which is not a filesystem or s3 target`);
  try {
    return { name, spec: resolveTarget(name, spec, process.env, loadConfig().targetEnv, 'cli') };
  } catch (error) {
    throw new UserError(`cannot open backup store ${name} of ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function listCommand(): Command {
  return new Command('list')
    .description("list the complete backups of a runbook's service, newest first, read from its backup store")
    .argument('<runbook>', 'runbook file with spec.backup')
    .addOption(json())
    .action(async (file: string, options: { json?: boolean }) => {
      const runbook = await loadRunbook(file);
      const target = backupStoreOf(runbook, file);
      const entries = await withBackupStore(target, process.env, (store) => listManifests(store, runbook.metadata.service));
      print({ backups: entries }, options.json, (list) => formatBackupList(list.backups, target.name));
    });
}

export function backupCommand(): Command {
  const command = new Command('backup').description('back up a service\'s database and keep its backups by policy');
  const subs = [runCommand('backup'), listCommand(), scheduleCommand('backup'), schedulesCommand('backup'), ...SCHEDULE_CONTROLS.map((control) => scheduleControlCommand('backup', control))];
  for (const sub of subs) command.addCommand(sub);
  return command;
}

/** `golive drill …`; `extra` are further subcommands (history) defined elsewhere. */
export function drillCommand(extra: Command[] = []): Command {
  const command = new Command('drill').description('restore-verification drills: prove backups restore and measure RPO/RTO');
  const subs = [runCommand('drill'), scheduleCommand('drill'), schedulesCommand('drill'), ...SCHEDULE_CONTROLS.map((control) => scheduleControlCommand('drill', control)), ...extra];
  for (const sub of subs) command.addCommand(sub);
  return command;
}
