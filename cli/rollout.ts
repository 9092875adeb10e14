import { stat } from 'node:fs/promises';
import { Command, Option } from 'commander';
import type { Config } from '../config/env.ts';
import { ADHOC_SOURCE, adhocPlan, parsePhases, type AdhocOptions, type Spelling } from '../runtime/adhoc-rollout.ts';
import type { RolloutPlan } from '../definitions/schema.ts';
import { UserError } from '../runtime/errors.ts';
import { rolloutQuery, type RolloutRecord } from '../workflows/definitions.ts';
import { actingUser, print, roleDirectory, wholeNumber, withReads, withStack, withStore } from './context.ts';
import { reportStarted } from './follow.ts';
import { formatRollout, formatRollouts } from './format-rollout.ts';
import { refuseAs, remoteApi, type RemoteApi, type RolloutStartRequest } from './remote.ts';
import { controlCommand } from './runs.ts';

const json = () => new Option('--json', 'print JSON');

interface StartOptions {
  flag?: string;
  service?: string;
  phases?: string;
  bake?: string;
  environment?: string;
  provider?: 'builtin' | 'unleash';
  approvals?: boolean;
  checklist?: string;
  prometheus?: string;
  guard: string[];
  comment?: string;
  as?: string;
  detach?: boolean;
  json?: boolean;
}

/** Ad-hoc options as typed on this command line. */
const spell: Spelling = (option) => (option === 'guards' ? '--guard' : `--${option}`);
const ADHOC_OPTIONS = ['service', 'phases', 'bake', 'environment', 'provider', 'approvals', 'checklist', 'prometheus'] as const;
const HOW = '`golive rollout start PLAN_FILE_OR_NAME`, or ad hoc `golive rollout start --flag KEY --service NAME`';

/** Exactly one of a plan and --flag; ad-hoc options only with --flag. Returns the ad-hoc options, or undefined for a plan. */
function adhocOptions(planArgument: string | undefined, options: StartOptions): AdhocOptions | undefined {
  const given = [...ADHOC_OPTIONS.filter((option) => options[option] !== undefined), ...(options.guard.length > 0 ? ['guards' as const] : [])];
  if (planArgument !== undefined) {
    if (options.flag !== undefined) throw new UserError(`give a plan or --flag, not both: ${HOW}`);
    if (given.length > 0) {
      throw new UserError(`${given.map(spell).join(', ')} ${given.length > 1 ? 'apply' : 'applies'} to an ad-hoc rollout (--flag); plan ${planArgument} says its own: edit the plan, or drop it and give --flag KEY --service NAME`);
    }
    return undefined;
  }
  if (options.flag === undefined) throw new UserError(`say what to roll out: ${HOW}`);
  if (options.service === undefined) throw new UserError('--flag needs --service NAME: the service the flag belongs to');
  return {
    flag: options.flag, service: options.service, phases: options.phases === undefined ? undefined : parsePhases(options.phases, spell),
    bake: options.bake, environment: options.environment, provider: options.provider, approvals: options.approvals, checklist: options.checklist,
    prometheus: options.prometheus, guards: options.guard,
  };
}

const isPlanFile = async (argument: string) => /\.ya?ml$/i.test(argument) || (await stat(argument).then((info) => info.isFile(), () => false));

/** A plan file, or the plan of that name in GOLIVE_ROLLOUTS_DIR. */
async function localPlan(argument: string, config: Config): Promise<{ plan: RolloutPlan; source: string }> {
  const { findRolloutPlan } = await import('../runtime/rollouts.ts');
  if (await isPlanFile(argument)) return { plan: await (await import('../definitions/load.ts')).loadRolloutPlan(argument), source: argument };
  const skipped = { warn: (fields: object, message: string) => console.error(`golive: ${message}: ${Object.values(fields).filter(Boolean).join(': ')}`) };
  const { plan, file } = await findRolloutPlan(config.rolloutsDir, argument, skipped);
  return { plan, source: file };
}

/** Through the API: the server starts its own copy of the plan by name, or the ad-hoc plan from the same fields. */
async function startRemotely(api: RemoteApi, planArgument: string | undefined, adhoc: AdhocOptions | undefined, options: StartOptions): Promise<void> {
  refuseAs(options.as);
  if (adhoc?.guards?.length || adhoc?.prometheus !== undefined) {
    throw new UserError("--guard and --prometheus work on the local stack only: through GOLIVE_URL a rollout's guards come from a plan in the server's rollouts folder");
  }
  let request: RolloutStartRequest;
  let what: string;
  if (adhoc) {
    const { guards: _guards, prometheus: _prometheus, phases, ...fields } = adhoc;
    request = { ...fields, phases: phases === undefined ? undefined : [...phases], comment: options.comment };
    what = `ad-hoc rollout of flag ${adhoc.flag}`;
  } else {
    const argument = planArgument ?? '';
    const name = (await isPlanFile(argument)) ? (await (await import('../definitions/load.ts')).loadRolloutPlan(argument)).metadata.name : argument;
    request = { plan: name, comment: options.comment };
    what = `rollout of plan ${name} (the server's own copy, not a local file)`;
  }
  const runId = await api.startRollout(request);
  await reportStarted(runId, options, `started ${what} as ${runId} on ${api.url}, as the token's user`, () => api.runState(runId));
}

async function start(planArgument: string | undefined, options: StartOptions): Promise<void> {
  const adhoc = adhocOptions(planArgument, options);
  const api = remoteApi();
  if (api) return startRemotely(api, planArgument, adhoc, options);
  const { loadConfig } = await import('../config/env.ts');
  const config = loadConfig();
  const { plan, source } = adhoc ? { plan: adhocPlan(adhoc, spell), source: ADHOC_SOURCE } : await localPlan(planArgument ?? '', config);
  const { planChecklist, startRollout } = await import('../runtime/rollouts.ts');
  const checklist = await planChecklist(plan, config.checklistsDir);
  const { getRunState } = await import('../runtime/runs.ts');
  await withStack(async ({ client, store, pool }) => {
    const requestedBy = actingUser(options.as, config);
    const roles = await roleDirectory(config, pool);
    const runId = await startRollout(client, roles, {
      plan, checklist, requestedBy, channel: 'cli', source, comment: options.comment, taskQueue: config.temporal.taskQueue, slackChannel: config.slack.channel,
    });
    const flag = `flag ${plan.spec.flag.key} of ${plan.metadata.service}`;
    await reportStarted(runId, options, `started rollout ${runId} of ${flag} (${source}) as ${requestedBy}`, () => getRunState(client, store, runId));
  });
}

function startCommand(): Command {
  return new Command('start')
    .description('roll a flag out phase by phase (release managers only): a plan file or name, or ad hoc with --flag and --service; follows the run (or --detach)')
    .argument('[plan]', "rollout plan file (YAML) or the name of one in GOLIVE_ROLLOUTS_DIR; with GOLIVE_URL, in the server's rollouts folder")
    .option('--flag <key>', 'ad hoc: the key of the built-in flag to roll out (instead of a plan)')
    .option('--service <name>', 'ad hoc: the service the flag belongs to')
    .option('--phases <percents>', 'ad hoc: rising percentages ending at 100 (default 10,50,100)')
    .option('--bake <duration>', 'ad hoc: how long each phase bakes before the next (default 30m)')
    .option('--environment <name>', "ad hoc: the flag's environment (default production)")
    .addOption(new Option('--provider <provider>', 'ad hoc: built-in flags only; an Unleash flag needs a plan with an unleash target').choices(['builtin', 'unleash']))
    .option('--approvals', 'ad hoc: a release manager approves every phase after the first')
    .option('--checklist <name>', 'ad hoc: the checklist (GOLIVE_CHECKLISTS_DIR/NAME.yaml) that gates the start')
    .option('--prometheus <url>', 'ad hoc, local stack only: the Prometheus the guards query')
    .addOption(new Option('--guard <name:query<max>', "ad hoc, local stack only, repeatable: roll back when the query's value passes the bound ('errors:QUERY<0.01' or 'rps:QUERY>5')")
      .argParser((text: string, all: string[]) => [...all, text]).default([], 'none: an ad-hoc rollout has no guards without it'))
    .option('--comment <text>', 'why; kept in the audit trail')
    .option('--as <user>', 'who is acting (default: GOLIVE_USER, else your login name); must be a release manager')
    .option('--detach', 'print only the run id and return at once (`R=$(golive rollout start … --detach)`)')
    .addOption(json())
    .action((plan: string | undefined, options: StartOptions) => start(plan, options));
}

function statusCommand(): Command {
  return new Command('status')
    .description("a rollout's status: the flag's phase and percentage, when the next phase starts, each guard against its threshold, the steps, the gate, a rollback and why")
    .argument('<run>', 'run id')
    .addOption(json())
    .action(async (runId: string, options: { json?: boolean }) => {
      const api = remoteApi();
      const { readRollout, rolloutStatus } = await import('../runtime/rollouts.ts');
      const record = api
        ? await api.rollout(runId)
        : await withReads(({ pool, reads }) => readRollout(pool, runId, (id) => reads.query<RolloutRecord>(id, rolloutQuery.name)));
      if (options.json) print(rolloutStatus(record), true, () => '');
      else print(record, false, formatRollout);
    });
}

function listCommand(): Command {
  return new Command('list')
    .description('recorded rollouts, newest first')
    .option('--service <service>', 'only rollouts of this service')
    .option('--limit <n>', 'at most this many', wholeNumber, 20)
    .addOption(json())
    .action(async (options: { service?: string; limit: number; json?: boolean }) => {
      const filter = { service: options.service, limit: options.limit };
      const api = remoteApi();
      const rollouts = api
        ? await api.rollouts(filter)
        : await withStore(async ({ pool }) => (await import('../runtime/rollouts.ts')).listRollouts(pool, filter));
      print({ rollouts }, options.json, (answer) => formatRollouts(answer.rollouts, options.service));
    });
}

/** `golive rollout start|status|list` and the controls of a rollout under the same name. */
export function rolloutCommand(): Command {
  const rollout = new Command('rollout')
    .description('phased feature-flag rollouts (10% → 50% → 100%) behind a checklist gate, watched by metric guards, rolled back on a breach: release managers only');
  for (const command of [startCommand(), statusCommand(), listCommand()]) rollout.addCommand(command);
  for (const control of ['promote', 'pause', 'resume', 'abort', 'rollback', 'approve', 'reject'] as const) rollout.addCommand(controlCommand(control));
  return rollout;
}
