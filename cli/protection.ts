import type { Client } from '@temporalio/client';
import { Command, Option } from 'commander';
import type pg from 'pg';
import { loadConfig } from '../config/env.ts';
import { resolveTarget } from '../definitions/targets.ts';
import { listManifests } from '../backups/manifests.ts';
import { withBackupStore, type StoreTarget } from '../backups/store.ts';
import { loadRunbook } from '../definitions/load.ts';
import type { Runbook } from '../definitions/schema.ts';
import {
  controlSchedule, listSchedules, requireProtection, resolveScheduleId, startProtectionRun, upsertSchedule,
  type ProtectionKind, type ScheduleControl,
} from '../runtime/protection.ts';
import { waitForRun } from '../runtime/runs.ts';
import { UserError } from '../runtime/errors.ts';
import { createPgProtectionStore } from '../store/protection.ts';
import type { RunStore } from '../store/runs.ts';
import type { DrillRecord } from '../workflows/definitions.ts';
import { actingUser, print, printJson, withStack } from './context.ts';
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
    .option('--detach', 'print the run id and return at once')
    .addOption(json());
  if (kind === 'drill') command.option('--fresh-backup', 'take a new backup first instead of restoring the newest existing one');
  return command.action(async (file: string, options: { as?: string; detach?: boolean; json?: boolean; freshBackup?: boolean }) => {
    const runbook = await loadRunbook(file);
    await withStack(async ({ config, client, store, pool }) => {
      const requestedBy = actingUser(options.as, config);
      const runId = await startProtectionRun(client, { kind, runbook, requestedBy, taskQueue: config.temporal.taskQueue, source: file, freshBackup: options.freshBackup });
      if (options.detach) {
        print({ runId }, options.json, () => `started ${kind} ${runId}; follow it with \`golive status ${runId}\``);
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

function scheduleCommand(kind: ProtectionKind): Command {
  const command = new Command('schedule')
    .description(`run ${kind}s of a runbook on a cron schedule (a Temporal Schedule: durable, never fired twice, a run still going makes the next one skip)`)
    .argument('<runbook>', 'runbook file')
    .requiredOption('--cron <expr>', 'cron expression, like "0 3 * * *" (03:00 every day)')
    .option('--timezone <tz>', 'IANA time zone of the cron expression, like Europe/Berlin (default UTC)')
    .addOption(json());
  if (kind === 'drill') command.option('--fresh-backup', 'each drill takes a new backup first');
  return command.action(async (file: string, options: { cron: string; timezone?: string; json?: boolean; freshBackup?: boolean }) => {
    const runbook = await loadRunbook(file);
    await withStack(async ({ config, client }) => {
      const answer = await upsertSchedule(client, {
        kind, runbook, cron: options.cron, timezone: options.timezone, requestedBy: 'schedule', taskQueue: config.temporal.taskQueue, source: file, freshBackup: options.freshBackup,
      });
      print(answer, options.json, ({ scheduleId, created, nextRuns }) =>
        `${created ? 'created' : 'updated'} schedule ${scheduleId}; next runs: ${nextRuns.map((at) => at.toISOString()).join(', ') || 'none'}`);
    });
  });
}

async function lastResult(store: RunStore, kind: string, runId: string): Promise<string> {
  const status = (await store.getRun(runId))?.status;
  if (status === undefined) return 'starting';
  if (kind === 'drill' && status === 'succeeded') return 'passed';
  return status;
}

function schedulesCommand(): Command {
  return new Command('schedules')
    .description('list backup and drill schedules: cron, state, next run, last run and its result')
    .addOption(json())
    .action(async (options: { json?: boolean }) => {
      await withStack(async ({ client, store }) => {
        const schedules = await listSchedules(client);
        for (const schedule of schedules) {
          if (schedule.lastRun) schedule.lastResult = await lastResult(store, schedule.kind, schedule.lastRun.runId);
        }
        print(schedules, options.json, formatSchedules);
      });
    });
}

const CONTROL_HELP: Record<ScheduleControl, string> = {
  pause: 'pause a schedule (no runs until unpaused)',
  unpause: 'unpause a schedule',
  trigger: 'start a run of the schedule now (skipped when one is still running)',
  delete: 'delete a schedule (runs already started go on)',
};

function scheduleControlCommand(kind: ProtectionKind, control: ScheduleControl): Command {
  return new Command(control)
    .description(CONTROL_HELP[control])
    .argument('<schedule>', `schedule id as listed, or the runbook name (${kind}-NAME)`)
    .addOption(as())
    .option('--comment <text>', 'why; kept as the schedule note')
    .addOption(json())
    .action(async (nameOrId: string, options: { as?: string; comment?: string; json?: boolean }) => {
      await withStack(async ({ config, client }) => {
        const id = resolveScheduleId(kind, nameOrId);
        const actor = actingUser(options.as, config);
        await controlSchedule(client, id, control, `${control} by ${actor}${options.comment ? `: ${options.comment}` : ''}`);
        const done = { pause: 'paused', unpause: 'unpaused', trigger: 'triggered', delete: 'deleted' }[control];
        if (options.json) printJson({ scheduleId: id, control, actor });
        else console.log(`${done} schedule ${id}${control === 'trigger' ? '; see it with `golive drill schedules` and `golive runs`' : ''}`);
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
    return { name, spec: resolveTarget(name, spec, process.env, loadConfig().targetEnv) };
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
      print(entries, options.json, (list) => formatBackupList(list, target.name));
    });
}

const CONTROLS: ScheduleControl[] = ['pause', 'unpause', 'trigger', 'delete'];

export function backupCommand(): Command {
  const command = new Command('backup').description('back up a service\'s database and keep its backups by policy');
  for (const sub of [runCommand('backup'), listCommand(), scheduleCommand('backup'), ...CONTROLS.map((control) => scheduleControlCommand('backup', control))]) command.addCommand(sub);
  return command;
}

/** `golive drill …`; `extra` are further subcommands (history) defined elsewhere. */
export function drillCommand(extra: Command[] = []): Command {
  const command = new Command('drill').description('restore-verification drills: prove backups restore and measure RPO/RTO');
  const subs = [runCommand('drill'), scheduleCommand('drill'), schedulesCommand(), ...CONTROLS.map((control) => scheduleControlCommand('drill', control)), ...extra];
  for (const sub of subs) command.addCommand(sub);
  return command;
}
