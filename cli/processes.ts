import { Command, Option } from 'commander';
import type { Logger } from 'pino';
import { loadConfig, type Config } from '../config/env.ts';
import { resolveEndpoints } from '../runtime/connections.ts';
import { DEMO_HEARTBEAT_SOURCE, demoEnvPath, readDemoEnv } from '../runtime/demo-env.ts';
import { detachedOutput, startDetached, stopRunning } from '../runtime/dev-background.ts';
import { startEmbeddedStack } from '../runtime/embedded.ts';
import { UserError } from '../runtime/errors.ts';
import { describeUrl, startHeartbeat } from '../runtime/heartbeat.ts';
import { createFileLogger, createLogger, installTemporalRuntime } from '../runtime/logger.ts';
import { startServices } from '../runtime/services.ts';
import { readLiveStack, removeStackFile, writeStackFile } from '../runtime/stack-file.ts';
import { portOrFree } from '../stack/process.ts';

/** Resolves on the first Ctrl-C or SIGTERM. */
function untilStopped(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

function upText(header: string, notes: string[]): string {
  return [header, ...notes.map((note) => `  ${note}`), 'Other golive commands in this folder use this stack (try `golive runs`).'].join('\n');
}

/**
 * What `golive dev` takes from GOLIVE_HOME/demo.env (loadConfig added its variables where the
 * environment sets none): a heartbeat writer on the demo's sample database when the file names
 * it, at the URL targets resolve to. Its notes for the start-up text.
 */
async function demoStage(config: Config, logger: Logger): Promise<{ notes: string[]; stop?: () => Promise<void> }> {
  const names = Object.keys(readDemoEnv(config.home));
  if (names.length === 0) return { notes: [] };
  const notes = [`demo env     ${names.join(' ')} from ${demoEnvPath(config.home)}`];
  const url = names.includes(DEMO_HEARTBEAT_SOURCE) ? process.env[DEMO_HEARTBEAT_SOURCE] : undefined;
  if (!url) return { notes };
  try {
    const heartbeat = await startHeartbeat(url, logger);
    return { notes: [...notes, `heartbeat    one row a second into golive_heartbeat on ${describeUrl(url)} (${DEMO_HEARTBEAT_SOURCE})`], stop: heartbeat.stop };
  } catch (error) {
    return { notes: [...notes, `heartbeat    not running: ${error instanceof Error ? error.message : String(error)}`] };
  }
}

/** `golive dev` in the foreground until Ctrl-C or SIGTERM: the stack, golive's worker and HTTP server, the demo's heartbeat. */
async function runDev(config: Config): Promise<void> {
  const stopped = untilStopped();
  const { logger, file } = createFileLogger(config.logLevel, config.home, 'dev');
  installTemporalRuntime(logger);
  console.log(`golive dev: starting the embedded stack… (logs in ${file})`);
  const stack = await startEmbeddedStack(config);
  const stops = [stack.stop];
  try {
    const services = await startServices(config, stack, { worker: true, http: true, httpPort: await portOrFree(config.http.port), logger });
    stops.push(services.stop);
    const httpUrl = services.http!.url;
    const demo = await demoStage(config, logger);
    if (demo.stop) stops.push(demo.stop);
    const notes = [
      ...stack.notes,
      `golive HTTP  ${httpUrl}  (/healthz /readyz /metrics /api/openapi.json; /api needs a token: golive token create --user NAME)`,
      `worker       task queue ${config.temporal.taskQueue}`,
      ...demo.notes,
      `logs         ${file} (level ${config.logLevel})`,
    ];
    stops.push(() => removeStackFile(config.home));
    await writeStackFile(config.home, { pid: process.pid, temporalAddress: stack.temporalAddress, temporalUi: stack.temporalUi, databaseUrl: stack.databaseUrl, httpUrl, notes });
    console.log(upText('golive dev is up (Ctrl-C or `golive dev --stop` stops all of it):', notes));
    console.log(`golive dev: ${await stopped}, stopping…`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch((error: unknown) => logger.error({ err: error }, 'stopping golive dev failed'));
  }
  console.log('golive dev: stopped; state kept for the next start');
}

async function detachDev(config: Config): Promise<void> {
  const started = Date.now();
  const stack = await startDetached(config.home);
  const seconds = ((Date.now() - started) / 1_000).toFixed(1);
  const notes = [...stack.notes, `output       ${detachedOutput(config.home)} (what it would print on a terminal)`];
  console.log(upText(`golive dev is up in the background after ${seconds}s (pid ${stack.pid}; \`golive dev --stop\` stops it):`, notes));
}

async function stopDev(config: Config): Promise<void> {
  const stopped = await stopRunning(config.home);
  console.log(stopped ? `golive dev (pid ${stopped.pid}) stopped; state kept for the next start` : 'golive dev is not running in this folder');
}

function devCommand(): Command {
  return new Command('dev')
    .description('run the embedded stack: Temporal dev server, Postgres, worker, HTTP server and, after `golive demo`, its heartbeat writer; Ctrl-C or --stop stops all of it')
    .addOption(new Option('--detach', 'start it in the background, wait until it is up, print its addresses (its output in GOLIVE_HOME/logs/dev.log)'))
    .addOption(new Option('--stop', 'stop the golive dev running in this folder and wait until it exited').conflicts('detach'))
    .action(async (options: { detach?: boolean; stop?: boolean }) => {
      const config = loadConfig();
      if (options.stop) return stopDev(config);
      const running = readLiveStack(config.home);
      if (running) throw new UserError(`golive dev already runs in this folder (pid ${running.pid}); use that one, or stop it with \`golive dev --stop\` first`);
      return options.detach ? detachDev(config) : runDev(config);
    });
}

/** A production process (`golive worker` / `golive server`) on TEMPORAL_ADDRESS and DATABASE_URL, until SIGTERM: JSON logs on stdout. */
function serviceCommand(name: 'worker' | 'server', description: string): Command {
  return new Command(name).description(description).action(async () => {
    const config = loadConfig();
    const logger = createLogger(config.logLevel, `golive-${name}`);
    installTemporalRuntime(logger);
    const services = await startServices(config, resolveEndpoints(config), { worker: name === 'worker', http: name === 'server', logger });
    logger.info({ taskQueue: config.temporal.taskQueue, address: services.http?.url }, `${name} running`);
    await untilStopped();
    await services.stop();
  });
}

export function processCommands(): Command[] {
  return [
    devCommand(),
    serviceCommand('worker', 'run a golive worker until SIGTERM; add more workers on the same task queue for capacity'),
    serviceCommand('server', 'run the golive HTTP server (health, metrics, API) on GOLIVE_HTTP_HOST:GOLIVE_HTTP_PORT until SIGTERM'),
  ];
}
