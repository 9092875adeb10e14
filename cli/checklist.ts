import { stat } from 'node:fs/promises';
import { Command, Option } from 'commander';
import type pg from 'pg';
import { EXIT, NotFoundError } from '../runtime/errors.ts';
import type { ChecklistRecord, ControlName } from '../workflows/definitions.ts';
import { actingUser, print, wholeNumber, withStack, withStore } from './context.ts';
import { formatChecklist, formatChecklistRuns, itemChanges } from './format-checklist.ts';
import { refuseAs, remoteApi } from './remote.ts';
import { controlCommand } from './runs.ts';

const json = () => new Option('--json', 'print JSON');
const as = () => new Option('--as <user>', 'who is acting (default: GOLIVE_USER, else your login name)');

const POLL_INTERVAL_MS = 1_000;
/** How long a new run may take to show up in golive's records before `run` stops waiting for it. */
const FIRST_RECORD_MS = 20_000;

interface RunOptions {
  service?: string;
  signOffTimeout?: string;
  comment?: string;
  wait?: boolean;
  as?: string;
  json?: boolean;
}

/** A path to a file, or a checklist's name: a file is read here; a name is looked up in the checklists folder. */
const isFile = async (fileOrName: string) => /\.ya?ml$/i.test(fileOrName) || (await stat(fileOrName).then((info) => info.isFile(), () => false));

/** Reads the record until it exists (and, with `until`, until that holds); prints each item as it changes when `onChange` is given. */
async function watch(runId: string, read: () => Promise<ChecklistRecord>, until: (record: ChecklistRecord) => boolean, onChange?: (line: string) => void): Promise<ChecklistRecord> {
  const appearBy = Date.now() + FIRST_RECORD_MS;
  let before: ChecklistRecord | undefined;
  for (;;) {
    const record = await read().catch((error: unknown) => {
      if (error instanceof NotFoundError && Date.now() < appearBy) return undefined;
      throw error;
    });
    if (record) {
      if (before && onChange) for (const line of itemChanges(before, record)) onChange(line);
      before = record;
      if (until(record)) return record;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

/** After the start: the run id and its items; with --wait every change until the gate is decided, then exit 1 unless it passed. */
async function report(runId: string, started: string, options: RunOptions, read: () => Promise<ChecklistRecord>): Promise<void> {
  if (!options.json) console.log(`${started}; run id ${runId}`);
  const first = await watch(runId, read, () => true);
  if (!options.wait) return print(first, options.json, formatChecklist);
  if (!options.json) console.log(`${formatChecklist(first)}\n\nwaiting for the gate (Ctrl-C stops waiting; the run goes on)`);
  const final = await watch(runId, read, (record) => record.status !== 'running', options.json ? undefined : (line) => console.log(line));
  print(final, options.json, (record) => `\n${formatChecklist(record)}`);
  if (final.status !== 'passed') process.exitCode = EXIT.failed;
}

async function start(fileOrName: string, options: RunOptions): Promise<void> {
  const request = { service: options.service, signOffTimeout: options.signOffTimeout, comment: options.comment };
  const { loadChecklist } = await import('../definitions/load.ts');
  const file = await isFile(fileOrName);
  const api = remoteApi();
  if (api) {
    refuseAs(options.as);
    const name = file ? (await loadChecklist(fileOrName)).metadata.name : fileOrName;
    const runId = await api.startChecklist({ checklist: name, ...request });
    const started = `started checklist ${name} on ${api.url} as the token's user: the server runs its own copy, not a local file`;
    return report(runId, started, options, () => api.checklistRun(runId));
  }
  const { findChecklist, readChecklistRun, startChecklist } = await import('../runtime/checklists.ts');
  await withStack(async ({ config, client, pool }) => {
    const checklist = file ? await loadChecklist(fileOrName) : (await findChecklist(config.checklistsDir, fileOrName, { warn: () => undefined })).checklist;
    const requestedBy = actingUser(options.as, config);
    const runId = await startChecklist(client, { checklist, requestedBy, channel: 'cli', taskQueue: config.temporal.taskQueue, source: fileOrName, slackChannel: config.slack.channel, ...request });
    await report(runId, `started checklist ${checklist.metadata.name} as ${requestedBy}`, options, () => readChecklistRun(pool, runId));
  });
}

function runCommand(): Command {
  return new Command('run')
    .description('run a go-live checklist for a service: automatic items are checked now, sign-offs are open until the deadline')
    .argument('<checklist>', 'checklist file (YAML), or the name of a checklist in GOLIVE_CHECKLISTS_DIR (the server\'s, with GOLIVE_URL)')
    .option('--service <service>', 'the service going live (required unless the checklist names one)')
    .option('--sign-off-timeout <duration>', 'how long sign-offs may take, like 48h (default 7d); open items then fail')
    .option('--comment <text>', 'why; kept in the audit trail')
    .option('--wait', 'follow the run until the gate is decided; exit 1 unless it passed')
    .addOption(as())
    .addOption(json())
    .action((fileOrName: string, options: RunOptions) => start(fileOrName, options));
}

/** The record through the API with GOLIVE_URL, else from golive's Postgres. */
async function readRecord<T>(remote: (api: NonNullable<ReturnType<typeof remoteApi>>) => Promise<T>, local: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const api = remoteApi();
  return api ? remote(api) : withStore(({ pool }) => local(pool));
}

function statusCommand(): Command {
  return new Command('status')
    .description("a checklist run: every item by phase with its evidence or reason, who signed off or waived it, and the gate's verdict")
    .argument('<run>', 'run id')
    .addOption(json())
    .action(async (runId: string, options: { json?: boolean }) => {
      const { readChecklistRun } = await import('../runtime/checklists.ts');
      print(await readRecord((api) => api.checklistRun(runId), (pool) => readChecklistRun(pool, runId)), options.json, formatChecklist);
    });
}

function listCommand(): Command {
  return new Command('list')
    .description('recorded checklist runs, newest first')
    .option('--service <service>', 'only runs for this service')
    .option('--limit <n>', 'at most this many', wholeNumber, 20)
    .addOption(json())
    .action(async (options: { service?: string; limit: number; json?: boolean }) => {
      const filter = { service: options.service, limit: options.limit };
      const { listChecklistRuns } = await import('../runtime/checklists.ts');
      const runs = await readRecord((api) => api.checklistRuns(filter), (pool) => listChecklistRuns(pool, filter));
      print({ runs }, options.json, (answer) => formatChecklistRuns(answer.runs, options.service));
    });
}

/** A decision on one item, sent as the run control `control` with the item as its step. */
async function decideItem(control: ControlName, runId: string, item: string, comment: string | undefined, options: { as?: string; json?: boolean }): Promise<void> {
  const api = remoteApi();
  if (api) {
    refuseAs(options.as);
    return print(await api.control(runId, control, { comment, step: item }), options.json, (answer) => answer.message);
  }
  const { sendControl } = await import('../runtime/runs.ts');
  await withStack(async (stack) => {
    const actor = actingUser(options.as, stack.config);
    const message = await sendControl({ ...stack, taskQueue: stack.config.temporal.taskQueue }, runId, control, { actor, channel: 'cli', comment, stepId: item });
    print({ runId, control, actor, message }, options.json, (answer) => answer.message);
  });
}

function itemCommand(name: string, control: ControlName, description: string, reason: { flag: string; help: string; required: boolean }): Command {
  const command = new Command(name).description(description).argument('<run>', 'run id').argument('<item>', 'item id');
  if (reason.required) command.requiredOption(reason.flag, reason.help);
  else command.option(reason.flag, reason.help);
  return command
    .addOption(as())
    .addOption(json())
    .action((runId: string, item: string, options: { reason?: string; comment?: string; as?: string; json?: boolean }) =>
      decideItem(control, runId, item, options.reason ?? options.comment, options));
}

/** `golive checklist run|status|list|sign-off|reject|waive|abort`: the go-live gate. */
export function checklistCommand(): Command {
  const checklist = new Command('checklist')
    .description('the go-live gate: run a checklist for a service, sign items off (four-eyes), waive what a release manager accepts');
  for (const command of [
    runCommand(),
    statusCommand(),
    listCommand(),
    itemCommand('sign-off', 'approve', 'sign an item off (four-eyes: not the requester; needs one of the item\'s roles); same as `golive approve RUN --step ITEM`',
      { flag: '--comment <text>', help: 'what you checked; kept in the audit trail', required: false }),
    itemCommand('reject', 'reject', 'reject a sign-off item: it fails, and the gate with it unless a release manager waives it',
      { flag: '--comment <text>', help: 'what is missing; its owner reads it', required: true }),
    itemCommand('waive', 'waive', 'accept a failed or open item as it is (a release manager other than the requester)',
      { flag: '--reason <text>', help: 'why the service may go live without it; kept in the audit trail', required: true }),
    controlCommand('abort').description('stop the run: checks still running stop and open items fail (its requester or a release manager)'),
  ]) checklist.addCommand(command);
  return checklist;
}
