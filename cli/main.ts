import { Command, CommanderError } from 'commander';
import { EXIT, describeFailure } from '../runtime/errors.ts';

/**
 * Each top-level command and the module that defines it, loaded only when that command runs:
 * `golive status RUN` never loads the worker, the HTTP server or the AWS SDK.
 */
const COMMANDS: Record<string, () => Promise<Command[]>> = {
  validate: async () => [(await import('./validate.ts')).validateCommand()],
  ...Object.fromEntries(['run', 'runs', 'status', 'wait', 'timeline', 'approve', 'reject', 'pause', 'resume', 'skip', 'abort', 'promote', 'rollback', 'waive'].map((name) => [name, runCommands])),
  backup: async () => [(await import('./protection.ts')).backupCommand()],
  drill: async () => [(await import('./protection.ts')).drillCommand([(await import('./drill-history.ts')).drillHistoryCommand()])],
  failover: async () => [(await import('./failover.ts')).failoverCommand()],
  flags: async () => [(await import('./flags.ts')).flagsCommand()],
  checklist: async () => [(await import('./checklist.ts')).checklistCommand()],
  rollout: async () => [(await import('./rollout.ts')).rolloutCommand()],
  posture: async () => [(await import('./posture.ts')).postureCommand()],
  advise: async () => [(await import('./advise.ts')).adviseCommand()],
  heartbeat: async () => [(await import('./heartbeat.ts')).heartbeatCommand()],
  token: async () => [(await import('./identity.ts')).tokenCommand()],
  roles: async () => [(await import('./identity.ts')).rolesCommand()],
  ...Object.fromEntries(['dev', 'worker', 'server'].map((name) => [name, processCommands])),
  demo: async () => [(await import('./demo.ts')).demoCommand()],
};

async function runCommands(): Promise<Command[]> {
  return (await import('./runs.ts')).runCommands();
}

async function processCommands(): Promise<Command[]> {
  return (await import('./processes.ts')).processCommands();
}

const wantsJson = process.argv.includes('--json');

/** Commander's own settings for every command: errors as exceptions, and no text where JSON was asked for. */
function configure(command: Command): void {
  command.exitOverride().showHelpAfterError(wantsJson ? false : '(add --help for usage)');
  command.configureOutput({ writeErr: (text) => (wantsJson ? undefined : process.stderr.write(text)) });
  for (const sub of command.commands) configure(sub);
}

/** The command line's failure: JSON on stdout with --json, else one line on stderr; the exit code says whose fault. */
function fail(error: unknown): never {
  if (error instanceof CommanderError) {
    const shown = ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(error.code);
    if (shown) process.exit(EXIT.ok);
    if (wantsJson) process.stdout.write(`${JSON.stringify({ error: { code: 'bad_request', message: error.message.replace(/^error: /, '') } })}\n`);
    process.exit(EXIT.usage);
  }
  const { code, exitCode } = describeFailure(error);
  const message = error instanceof Error ? error.message : String(error);
  if (wantsJson) process.stdout.write(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
  else console.error(`golive: ${message}`);
  if (process.env.GOLIVE_LOG_LEVEL === 'debug' && error instanceof Error) console.error(error.stack);
  process.exit(exitCode);
}

try {
  const name = process.argv[2] ?? '';
  if (['--version', '-V', 'version'].includes(name)) {
    await (await import('./version.ts')).printVersion(process.argv.slice(3));
    process.exit(process.exitCode ?? EXIT.ok);
  }
  const program = new Command('golive')
    .description('go-live checklists, phased rollouts, DR drills and failover runbooks on Temporal')
    .option('-V, --version', 'print the version of golive and of the Temporal, Postgres and schema it talks to (--json)');
  const load = COMMANDS[name];
  const modules = load ? [load] : [...new Set(Object.values(COMMANDS))];
  for (const commands of await Promise.all(modules.map((module) => module()))) {
    for (const command of commands) if (!program.commands.some((known) => known.name() === command.name())) program.addCommand(command);
  }
  configure(program);
  await program.parseAsync(process.argv);
  process.exit(process.exitCode ?? EXIT.ok);
} catch (error) {
  fail(error);
}
