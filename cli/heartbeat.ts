import { Command, Option } from 'commander';
import { describeUrl, installHeartbeat, runHeartbeat } from '../runtime/heartbeat.ts';
import { resolveTarget } from '../definitions/targets.ts';
import type { TargetEnvPolicy } from '../definitions/target-env.ts';
import { loadConfig } from '../config/env.ts';
import { HEARTBEAT_TABLE } from '../definitions/heartbeat.ts';
import { formatDuration, parseDuration } from '../definitions/duration.ts';
import { loadRunbook } from '../definitions/load.ts';
import { createLogger } from '../runtime/logger.ts';

/** Where heartbeats go: a connection URL and how to name it to a person (no password). */
export interface HeartbeatTarget {
  url: string;
  label: string;
}

const TARGET_HELP = 'a postgres:// URL, or RUNBOOK_FILE[#TARGET] (default target: the runbook\'s spec.backup.source)';

/**
 * Resolves `golive heartbeat`'s TARGET argument: a postgres:// URL as given, or a postgres
 * target of a runbook file with its `${VAR}` references filled in from `env`.
 */
export async function resolveHeartbeatTarget(argument: string, env: NodeJS.ProcessEnv, policy?: TargetEnvPolicy): Promise<HeartbeatTarget> {
  if (/^postgres(ql)?:\/\//.test(argument)) return { url: argument, label: describeUrl(argument) };
  const hash = argument.lastIndexOf('#');
  const file = hash === -1 ? argument : argument.slice(0, hash);
  const named = hash === -1 ? undefined : argument.slice(hash + 1);
  const runbook = await loadRunbook(file);
  const name = named ?? runbook.spec.backup?.source;
  if (name === undefined) {
    throw new Error(`cannot pick a heartbeat target in ${file}: it has no spec.backup.source; name one as ${file}#TARGET`);
  }
  const spec = runbook.spec.targets[name];
  if (spec === undefined) {
    const known = Object.keys(runbook.spec.targets).join(', ') || 'none';
    throw new Error(`cannot pick heartbeat target ${name} in ${file}: no such target (declared: ${known})`);
  }
  if (spec.type !== 'postgres') throw new Error(`cannot write heartbeats to target ${name} in ${file}: it is a ${spec.type} target, not postgres`);
  let url: string;
  try {
    url = resolveTarget(name, spec, env, policy, 'cli').url;
  } catch (error) {
    throw new Error(`cannot resolve heartbeat target ${name} in ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return { url, label: `${name} (${describeUrl(url)})` };
}

function intervalOption(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 100) throw new Error(`--interval must be a duration of at least 100ms like 1s or 500ms, got "${text}"`);
  return ms;
}

function installCommand(): Command {
  return new Command('install')
    .description(`create the ${HEARTBEAT_TABLE} table on a database (safe to run again)`)
    .argument('<target>', TARGET_HELP)
    .action(async (argument: string) => {
      const target = await resolveHeartbeatTarget(argument, process.env, loadConfig().targetEnv);
      const { created } = await installHeartbeat(target.url);
      console.log(created ? `created ${HEARTBEAT_TABLE} on ${target.label}` : `${HEARTBEAT_TABLE} already exists on ${target.label}`);
    });
}

/** Aborts `controller` on SIGINT or SIGTERM; the returned function removes the handlers. */
function stopOnSignals(controller: AbortController): () => void {
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
}

function runCommand(): Command {
  return new Command('run')
    .description(`write one row per interval to ${HEARTBEAT_TABLE}, so drills measure RPO to the second; stops on Ctrl-C or SIGTERM`)
    .argument('<target>', TARGET_HELP)
    .addOption(new Option('--interval <duration>', 'time between beats').default(1_000, '1s').argParser(intervalOption))
    .action(async (argument: string, options: { interval: number }) => {
      const config = loadConfig();
      const target = await resolveHeartbeatTarget(argument, process.env, config.targetEnv);
      const logger = createLogger(config.logLevel, 'golive-heartbeat');
      const controller = new AbortController();
      const release = stopOnSignals(controller);
      console.log(`heartbeat running: one row every ${formatDuration(options.interval)} into ${HEARTBEAT_TABLE} on ${target.label}; Ctrl-C stops`);
      try {
        const { beats } = await runHeartbeat(target.url, { intervalMs: options.interval, signal: controller.signal, logger });
        console.log(`heartbeat stopped after ${beats} beat${beats === 1 ? '' : 's'} on ${target.label}`);
      } finally {
        release();
      }
    });
}

export function heartbeatCommand(): Command {
  return new Command('heartbeat')
    .description(`keep a ${HEARTBEAT_TABLE} table on a source database, so drills measure RPO from real writes`)
    .addCommand(installCommand())
    .addCommand(runCommand());
}
