import { Command, Option } from 'commander';
import { parseDuration } from '../definitions/duration.ts';
import { EXIT, UserError } from '../runtime/errors.ts';
import { listRuns, readRunState, unknownRun } from '../runtime/run-state.ts';
import { CONTROLS, FINISHED, RUN_STATUSES, stateQuery, type ControlName, type RunState } from '../workflows/definitions.ts';
import { actingUser, print, wholeNumber, withReads, withStack, withStore } from './context.ts';
import { reportStarted, waitUntil } from './follow.ts';
import { formatRunList, formatRunState, formatTimeline } from './format-run.ts';
import { refuseAs, remoteApi, runRemotely } from './remote.ts';

const json = () => new Option('--json', 'print JSON');
const as = () => new Option('--as <user>', 'who is acting (default: GOLIVE_USER, else your login name)');

function runCommand(): Command {
  return new Command('run')
    .description('start a run of a runbook and follow it until it finishes (or --detach)')
    .argument('<runbook>', "runbook file (YAML); with GOLIVE_URL, a file or the name of a runbook in the server's folder")
    .addOption(as())
    .option('--comment <text>', 'why; kept in the audit trail')
    .option('--detach', 'print only the run id and return at once (`R=$(golive run … --detach)`)')
    .addOption(json())
    .action(async (file: string, options: { as?: string; comment?: string; detach?: boolean; json?: boolean }) => {
      const api = remoteApi();
      if (api) return runRemotely(api, file, options);
      const runbook = await (await import('../definitions/load.ts')).loadRunbook(file);
      const { getRunState, startRunbookRun } = await import('../runtime/runs.ts');
      await withStack(async ({ config, client, store }) => {
        const requestedBy = actingUser(options.as, config);
        const runId = await startRunbookRun(client, { runbook, requestedBy, channel: 'cli', taskQueue: config.temporal.taskQueue, source: file, comment: options.comment, slackChannel: config.slack.channel });
        await reportStarted(runId, options, `started run ${runId} of ${runbook.metadata.name} as ${requestedBy}`, () => getRunState(client, store, runId));
      });
    });
}

function runsCommand(): Command {
  return new Command('runs')
    .description('list recent runs, newest first')
    .option('--service <service>', 'only runs of this service')
    .addOption(new Option('--status <status>', 'only runs in this status').choices(RUN_STATUSES))
    .option('--limit <n>', 'at most this many', wholeNumber, 20)
    .addOption(json())
    .action(async (options: { service?: string; status?: string; limit: number; json?: boolean }) => {
      const api = remoteApi();
      const runs = api ? await api.listRuns(options) : await withStore(({ store }) => listRuns(store, options));
      print({ runs }, options.json, (list) => formatRunList(list.runs));
    });
}

function statusCommand(): Command {
  return new Command('status')
    .description("a run's state: each step's status, timings, result and who acted")
    .argument('<run>', 'run id')
    .addOption(json())
    .action(async (runId: string, options: { json?: boolean }) => {
      print(await withRunReader(runId, (read) => read()), options.json, formatRunState);
    });
}

/** Reads a run's state for `status` and `wait`: through the API with GOLIVE_URL, else with the stack's quick reads. */
async function withRunReader<T>(runId: string, work: (read: () => Promise<RunState>) => Promise<T>): Promise<T> {
  const api = remoteApi();
  if (api) return work(() => api.runState(runId));
  return withReads(({ store, reads }) => work(() => readRunState(store, runId, (id) => reads.query<RunState>(id, stateQuery.name))));
}

function timelineCommand(): Command {
  return new Command('timeline')
    .description("a run's audit trail: every transition and decision, who and when")
    .argument('<run>', 'run id')
    .addOption(json())
    .action(async (runId: string, options: { json?: boolean }) => {
      const api = remoteApi();
      const events = api ? await api.timeline(runId) : await withStore(({ store }) => store.events(runId));
      if (events.length === 0) throw unknownRun(runId);
      print({ runId, events }, options.json, (timeline) => formatTimeline(timeline.events));
    });
}

const WAITS = {
  gate: { reached: (state: RunState) => state.gate !== undefined, what: 'waits at an approval gate' },
  pause: { reached: (state: RunState) => state.status === 'paused', what: 'is paused' },
  end: { reached: (state: RunState) => FINISHED.includes(state.status), what: 'ends' },
} as const;

function waitCommand(): Command {
  return new Command('wait')
    .description('block until a run waits at a gate, is paused, or ends (for scripts); prints what it found')
    .argument('<run>', 'run id')
    .addOption(new Option('--for <point>', 'what to wait for').choices(Object.keys(WAITS)).default('end'))
    .option('--timeout <duration>', 'give up after this long (exit 1)', '30m')
    .addOption(json())
    .action(async (runId: string, options: { for: keyof typeof WAITS; timeout: string; json?: boolean }) => {
      const timeoutMs = parseDuration(options.timeout);
      if (timeoutMs === undefined || timeoutMs <= 0) throw new UserError(`--timeout: give a duration longer than 0s like 90s or 10m, not "${options.timeout}"`);
      const wanted = WAITS[options.for];
      const state = await withRunReader(runId, (read) => waitUntil(runId, read, (now) => wanted.reached(now) || FINISHED.includes(now.status), timeoutMs));
      print(state, options.json, formatRunState);
      if (!wanted.reached(state)) throw new Error(`run ${runId} ${state.status} before it ${wanted.what}`);
      if (options.for === 'end' && state.status !== 'succeeded') process.exitCode = EXIT.failed;
    });
}

const CONTROL_HELP: Record<ControlName, string> = {
  approve: 'approve the gate the run waits at (four-eyes: not the requester; needs a role the gate names)',
  reject: 'reject the gate the run waits at; the run fails and rolls back',
  pause: 'pause the run after its current step',
  resume: 'resume a paused run, or end a pause step early',
  skip: 'skip the current step, or the one named with --step',
  abort: 'stop the run and roll back what it changed',
  promote: 'end the current bake of a rollout now (its next phase still waits for its approval)',
  rollback: 'roll a rollout\'s flag back as its plan says and end it',
  waive: 'accept a failed or open checklist item, with the reason in comment (release managers, not the requester)',
};

/** A control of a run; `golive failover pause|resume|abort|skip` mount the same commands. */
export function controlCommand(control: ControlName): Command {
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
      const { sendControl } = await import('../runtime/runs.ts');
      await withStack(async (stack) => {
        const actor = actingUser(options.as, stack.config);
        const message = await sendControl({ ...stack, taskQueue: stack.config.temporal.taskQueue }, runId, control, { actor, channel: 'cli', comment: options.comment, stepId: options.step });
        print({ runId, control, actor, message }, options.json, (answer) => answer.message);
      });
    });
}

export function runCommands(): Command[] {
  return [runCommand(), runsCommand(), statusCommand(), waitCommand(), timelineCommand(), ...Object.keys(CONTROLS).map((name) => controlCommand(name as ControlName))];
}
