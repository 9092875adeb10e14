import { Command, Option } from 'commander';
import type { FailoverFilter } from '../store/failovers.ts';
import { actingUser, print, roleDirectory, wholeNumber, withStack, withStore } from './context.ts';
import { reportStarted } from './follow.ts';
import { formatFailover, formatFailovers } from './format-failover.ts';
import { refuseAs, remoteApi, runbookName } from './remote.ts';
import { controlCommand } from './runs.ts';
import { scheduleCommands } from './schedules.ts';

const json = () => new Option('--json', 'print JSON');
const as = () => new Option('--as <user>', 'who is acting (default: GOLIVE_USER, else your login name); must be an incident commander');

interface StartOptions {
  reason: string;
  force?: string;
  environment?: string;
  as?: string;
  detach?: boolean;
  json?: boolean;
}

/** Starts the failover (a drill with --environment) through the API with GOLIVE_URL, else on the stack; then follows it. */
async function start(file: string, options: StartOptions): Promise<void> {
  const what = options.environment === undefined ? 'failover' : `failover drill (environment ${options.environment})`;
  const request = { reason: options.reason, force: options.force, environment: options.environment };
  const api = remoteApi();
  if (api) {
    refuseAs(options.as);
    const name = await runbookName(file);
    const runId = await api.startFailover({ runbook: name, ...request });
    const started = `started ${what} ${runId} on ${api.url}: the server runs its own copy of runbook ${name}, not a local file, as the token's user`;
    await reportStarted(runId, options, started, () => api.runState(runId));
  } else {
    const runbook = await (await import('../definitions/load.ts')).loadRunbook(file);
    const { startFailover } = await import('../runtime/failovers.ts');
    const { getRunState } = await import('../runtime/runs.ts');
    await withStack(async ({ config, client, store, pool }) => {
      const requestedBy = actingUser(options.as, config);
      const roles = await roleDirectory(config, pool);
      const runId = await startFailover(client, roles, { runbook, requestedBy, channel: 'cli', taskQueue: config.temporal.taskQueue, source: file, slackChannel: config.slack.channel, ...request });
      await reportStarted(runId, options, `started ${what} ${runId} of ${runbook.metadata.name} as ${requestedBy}`, () => getRunState(client, store, runId));
    });
  }
}

/** The options `start` and `drill` share; `start` takes --reason and --environment as it likes, `drill` needs an environment. */
function startOptions(command: Command): Command {
  return command
    .option('--force <reason>', 'go on although the measured exposure exceeds the RPO objective, and why (kept in the record)')
    .addOption(as())
    .option('--detach', 'print only the run id and return at once (`R=$(golive failover start … --detach)`)')
    .addOption(json());
}

function startCommand(): Command {
  return startOptions(new Command('start')
    .description('fail the runbook\'s service over (incident commanders only), and follow the run until it finishes (or --detach)')
    .argument('<runbook>', "runbook file (YAML); with GOLIVE_URL, a file or the name of a runbook in the server's folder")
    .requiredOption('--reason <text>', 'why: the incident, in a few words; kept in the record and the audit trail')
    .option('--environment <name>', 'a drill: run against this drill environment\'s targets (spec.environments) instead'))
    .action((file: string, options: StartOptions) => start(file, options));
}

function drillCommand(): Command {
  return startOptions(new Command('drill')
    .description('run the runbook\'s failover against one of its drill environments (spec.environments), measuring RTO and exposure')
    .argument('<runbook>', "runbook file (YAML); with GOLIVE_URL, a file or the name of a runbook in the server's folder")
    .requiredOption('--environment <name>', 'the drill environment whose targets replace the runbook\'s own')
    .option('--reason <text>', 'why; kept in the record and the audit trail', 'failover drill'))
    .action((file: string, options: StartOptions) => start(file, options));
}

function statusCommand(): Command {
  return new Command('status')
    .description("a failover's record: status, reason, T_d, measured RTO and exposure against the objectives, fencing, each step and who acted")
    .argument('<run>', 'run id')
    .addOption(json())
    .action(async (runId: string, options: { json?: boolean }) => {
      const api = remoteApi();
      const record = api
        ? await api.failover(runId)
        : await withStore(async ({ pool }) => (await import('../runtime/failovers.ts')).readFailover(pool, runId));
      print(record, options.json, formatFailover);
    });
}

function listCommand(): Command {
  return new Command('list')
    .description('recorded failovers and failover drills, newest first')
    .option('--service <service>', 'only failovers of this service')
    .option('--drill', 'only drills')
    .option('--no-drill', 'only real failovers, no drills')
    .option('--limit <n>', 'at most this many', wholeNumber, 20)
    .addOption(json())
    .action(async (options: Partial<FailoverFilter> & { limit: number; json?: boolean }) => {
      const filter = { service: options.service, drill: options.drill, limit: options.limit };
      const api = remoteApi();
      const failovers = api
        ? await api.failovers(filter)
        : await withStore(async ({ pool }) => (await import('../runtime/failovers.ts')).listFailovers(pool, filter));
      print({ failovers }, options.json, (answer) => formatFailovers(answer.failovers));
    });
}

/**
 * `golive failover start|drill|status|list`, the run controls a failover needs most under the same name, and
 * failover-drill schedules (`schedule`, `schedules`, `pause-schedule`, `unpause-schedule`, `trigger`, `unschedule`).
 */
export function failoverCommand(): Command {
  const failover = new Command('failover')
    .description('fail a service over to its standby, or drill it against a drill environment, now or on a schedule: incident commanders only, every step on the record');
  for (const command of [startCommand(), drillCommand(), statusCommand(), listCommand()]) failover.addCommand(command);
  for (const control of ['pause', 'resume', 'abort', 'skip'] as const) failover.addCommand(controlCommand(control));
  for (const command of scheduleCommands('failover-drill')) failover.addCommand(command);
  return failover;
}
