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
import { waitForRun } from '../runtime/runs.ts';
import { UserError } from '../runtime/errors.ts';
import { createPgProtectionStore } from '../store/protection.ts';
import type { DrillRecord } from '../workflows/definitions.ts';
import { actingUser, print, withStack } from './context.ts';
import { formatBackup, formatBackupList, formatDrill } from './format-drill.ts';
import { scheduleCommands } from './schedules.ts';

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
  const subs = [runCommand('backup'), listCommand(), ...scheduleCommands('backup')];
  for (const sub of subs) command.addCommand(sub);
  return command;
}

/** `golive drill …`; `extra` are further subcommands (history) defined elsewhere. */
export function drillCommand(extra: Command[] = []): Command {
  const command = new Command('drill').description('restore-verification drills: prove backups restore and measure RPO/RTO');
  const subs = [runCommand('drill'), ...scheduleCommands('drill'), ...extra];
  for (const sub of subs) command.addCommand(sub);
  return command;
}
