import { Command } from 'commander';
import { loadConfig } from '../config/env.ts';
import { resolveEndpoints } from '../runtime/connections.ts';
import { startEmbeddedStack } from '../runtime/embedded.ts';
import { createLogger, installTemporalRuntime } from '../runtime/logger.ts';
import { startServices, type Services } from '../runtime/services.ts';
import { portOrFree } from '../stack/process.ts';
import { readLiveStack, removeStackFile, writeStackFile } from '../runtime/stack-file.ts';
import { UserError } from '../runtime/errors.ts';

/** Resolves on the first Ctrl-C or SIGTERM. */
function untilStopped(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

function devCommand(): Command {
  return new Command('dev')
    .description('run the embedded stack in the foreground: Temporal dev server, Postgres, worker, HTTP server (Ctrl-C stops all)')
    .action(async () => {
      const config = loadConfig();
      const running = readLiveStack(config.home);
      if (running) throw new UserError(`golive dev already runs in this folder (pid ${running.pid}); use that one, or stop it with Ctrl-C first`);
      const logger = createLogger(config.logLevel, 'golive-dev');
      installTemporalRuntime(logger, config.logLevel);
      console.log('golive dev: starting the embedded stack…');
      const stack = await startEmbeddedStack(config);
      let services: Services | undefined;
      const stopAll = async () => {
        const results = await Promise.allSettled([services?.stop()]);
        await stack.stop();
        await removeStackFile(config.home);
        for (const result of results) if (result.status === 'rejected') logger.error({ err: result.reason }, 'stopping the worker or server failed');
      };
      try {
        services = await startServices(config, stack, { worker: true, http: true, httpPort: await portOrFree(config.http.port), logger });
        const httpUrl = services.http!.url;
        await writeStackFile(config.home, { pid: process.pid, temporalAddress: stack.temporalAddress, temporalUi: stack.temporalUi, databaseUrl: stack.databaseUrl, httpUrl });
        console.log([
          'golive dev is up (Ctrl-C stops all of it):',
          ...stack.notes.map((note) => `  ${note}`),
          `  golive HTTP  ${httpUrl}  (/healthz /readyz /metrics /api/openapi.json; /api needs a token: golive token create --user NAME)`,
          `  worker       task queue ${config.temporal.taskQueue}`,
          'Other golive commands in this folder use this stack (try `golive runs`).',
        ].join('\n'));
        const signal = await untilStopped();
        console.log(`golive dev: ${signal}, stopping…`);
      } finally {
        await stopAll();
      }
      console.log('golive dev: stopped; state kept for the next start');
    });
}

/** A production process (`golive worker` / `golive server`) on TEMPORAL_ADDRESS and DATABASE_URL, until SIGTERM. */
function serviceCommand(name: 'worker' | 'server', description: string): Command {
  return new Command(name).description(description).action(async () => {
    const config = loadConfig();
    const logger = createLogger(config.logLevel, `golive-${name}`);
    installTemporalRuntime(logger, config.logLevel);
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
