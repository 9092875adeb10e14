import { Command, Option } from 'commander';
import { loadRunbook } from '../definitions/load.ts';
import { getRunState, sendControl, startRunbookRun, unknownRun, waitForRun } from '../runtime/runs.ts';
import { UserError } from '../runtime/errors.ts';
import { CONTROLS, type ControlName, type RunState } from '../workflows/definitions.ts';
import { actingUser, print, printJson, withStack } from './context.ts';
import { formatRunList, formatRunState, formatTimeline } from './format-run.ts';
import { refuseAs, remoteApi, runRemotely } from './remote.ts';

const json = () => new Option('--json', 'print JSON');
const as = () => new Option('--as <user>', 'who is acting (default: GOLIVE_USER, else your login name)');

function exitFor(state: RunState): void {
  if (state.status !== 'succeeded') process.exitCode = 1;
}

function runCommand(): Command {
  return new Command('run')
    .description('start a run of a runbook and follow it until it finishes (or --detach)')
    .argument('<runbook>', "runbook file (YAML); with GOLIVE_URL, a file or the name of a runbook in the server's folder")
    .addOption(as())
    .option('--comment <text>', 'why; kept in the audit trail')
    .option('--detach', 'print the run id and return at once')
    .addOption(json())
    .action(async (file: string, options: { as?: string; comment?: string; detach?: boolean; json?: boolean }) => {
      const api = remoteApi();
      if (api) return runRemotely(api, file, options);
      const runbook = await loadRunbook(file);
      await withStack(async ({ config, client, store }) => {
        const requestedBy = actingUser(options.as, config);
        const runId = await startRunbookRun(client, { runbook, requestedBy, channel: 'cli', taskQueue: config.temporal.taskQueue, source: file, comment: options.comment });
        if (options.detach) {
          if (options.json) printJson({ runId });
          else console.log(`started run ${runId} as ${requestedBy}; follow it with \`golive status ${runId}\``);
          return;
        }
        if (!options.json) console.log(`started run ${runId} as ${requestedBy}; waiting for it to finish (Ctrl-C leaves it running)`);
        const state = await waitForRun(client, store, runId);
        print(state, options.json, formatRunState);
        exitFor(state);
      });
    });
}

function runsCommand(): Command {
  return new Command('runs')
    .description('list recent runs, newest first')
    .option('--service <service>', 'only runs of this service')
    .option('--status <status>', 'only runs in this status')
    .option('--limit <n>', 'at most this many', (value) => Number.parseInt(value, 10), 20)
    .addOption(json())
    .action(async (options: { service?: string; status?: string; limit: number; json?: boolean }) => {
      if (!Number.isInteger(options.limit) || options.limit < 1) throw new UserError('--limit takes a whole number of at least 1');
      const api = remoteApi();
      if (api) return print(await api.listRuns(options), options.json, formatRunList);
      await withStack(async ({ store }) => {
        print(await store.listRuns(options), options.json, formatRunList);
      });
    });
}

function statusCommand(): Command {
  return new Command('status')
    .description("a run's state: each step's status, timings, result and who acted")
    .argument('<run>', 'run id')
    .addOption(json())
    .action(async (runId: string, options: { json?: boolean }) => {
      const api = remoteApi();
      if (api) return print(await api.runState(runId), options.json, formatRunState);
      await withStack(async ({ client, store }) => {
        print(await getRunState(client, store, runId), options.json, formatRunState);
      });
    });
}

function timelineCommand(): Command {
  return new Command('timeline')
    .description("a run's audit trail: every transition and decision, who and when")
    .argument('<run>', 'run id')
    .addOption(json())
    .action(async (runId: string, options: { json?: boolean }) => {
      const api = remoteApi();
      if (api) return print(await api.timeline(runId), options.json, formatTimeline);
      await withStack(async ({ store }) => {
        const events = await store.events(runId);
        if (events.length === 0) throw unknownRun(runId);
        print(events, options.json, formatTimeline);
      });
    });
}

const CONTROL_HELP: Record<ControlName, string> = {
  approve: 'approve the gate the run waits at (four-eyes: not the requester; needs a role the gate names)',
  reject: 'reject the gate the run waits at; the run fails and rolls back',
  pause: 'pause the run after its current step',
  resume: 'resume a paused run, or end a pause step early',
  skip: 'skip the current step, or the one named with --step',
  abort: 'stop the run and roll back what it changed',
};

function controlCommand(control: ControlName): Command {
  return new Command(control)
    .description(CONTROL_HELP[control])
    .argument('<run>', 'run id')
    .addOption(as())
    .option('--comment <text>', 'why; kept in the audit trail')
    .option('--step <id>', 'the step this is meant for (default: the current one)')
    .addOption(json())
    .action(async (runId: string, options: { as?: string; comment?: string; step?: string; json?: boolean }) => {
      const api = remoteApi();
      if (api) {
        refuseAs(options.as);
        return print(await api.control(runId, control, { comment: options.comment, step: options.step }), options.json, (answer) => answer.message);
      }
      await withStack(async (stack) => {
        const actor = actingUser(options.as, stack.config);
        const message = await sendControl({ ...stack, taskQueue: stack.config.temporal.taskQueue }, runId, control, { actor, channel: 'cli', comment: options.comment, stepId: options.step });
        print({ runId, control, actor, message }, options.json, (answer) => answer.message);
      });
    });
}

export function runCommands(): Command[] {
  return [runCommand(), runsCommand(), statusCommand(), timelineCommand(), ...Object.keys(CONTROLS).map((name) => controlCommand(name as ControlName))];
}
