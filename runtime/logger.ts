import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { z } from 'zod';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

/** Fields that could hold secrets, redacted wherever they appear. */
const REDACT = {
  paths: [
    'password', 'token', 'apiKey', 'url', 'databaseUrl', 'connectionString', 'env',
    '*.password', '*.token', '*.apiKey', '*.url', '*.databaseUrl', '*.connectionString', '*.env', 'headers.authorization',
  ],
  censor: '[redacted]',
};

/** Structured logs as JSON lines on stdout: what `golive worker` and `golive server` give log shippers. */
export function createLogger(level: string, name = 'golive'): pino.Logger {
  return pino({ name, level, redact: REDACT });
}

/** Where the embedded stack's logs go: GOLIVE_HOME/logs. */
export const logDir = (home: string) => resolve(home, 'logs');

/** What a person watching a terminal sees of a log entry: warnings and errors, one line each. */
const TERMINAL_LEVEL = 'warn';
const TerminalEntry = z.object({ level: z.number(), msg: z.string().default(''), err: z.object({ message: z.string() }).optional().catch(undefined) });

const levelValue = (level: string) => pino.levels.values[level] ?? Infinity;

function terminalLine(prefix: string, json: string): string {
  const parsed = TerminalEntry.safeParse(JSON.parse(json));
  if (!parsed.success) return json;
  const { level, msg, err } = parsed.data;
  const [first = '', ...more] = `${msg}${err && !msg.includes(err.message) ? `: ${err.message}` : ''}`.split('\n');
  return `${prefix}: ${level < levelValue('error') ? 'warning' : 'error'}: ${first}${more.length > 0 ? ' (more in the log file)' : ''}\n`;
}

/**
 * The logs of a process a person watches (`golive dev`, `golive demo`): every entry at `level`
 * (GOLIVE_LOG_LEVEL) as JSON lines in GOLIVE_HOME/logs/NAME-YYYYMMDD.jsonl, named by the day the
 * process started, and warnings and errors also as one readable line each on stderr.
 */
export function createFileLogger(level: pino.LevelWithSilent, home: string, name: string): { logger: pino.Logger; file: string } {
  mkdirSync(logDir(home), { recursive: true });
  const file = join(logDir(home), `${name}-${new Date().toISOString().slice(0, 10).replaceAll('-', '')}.jsonl`);
  const prefix = `golive ${name}`;
  const streams: pino.StreamEntry[] = [{ level: TERMINAL_LEVEL, stream: { write: (json: string) => process.stderr.write(terminalLine(prefix, json)) } }];
  if (level !== 'silent') streams.push({ level, stream: pino.destination({ dest: file, sync: true }) });
  const lowest = levelValue(level) < levelValue(TERMINAL_LEVEL) ? level : TERMINAL_LEVEL;
  return { logger: pino({ name: `golive-${name}`, level: lowest, redact: REDACT }, pino.multistream(streams)), file };
}

const TEMPORAL_LEVELS: Record<string, LogLevel> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR', fatal: 'ERROR', silent: 'ERROR' };
const PINO_METHODS = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/** The workflow bundler's webpack report, dozens of lines ending "webpack 5.x compiled …": debug, not info. */
const WEBPACK_REPORT = /^webpack \S+ compiled/m;

/**
 * Sets up the Temporal runtime of a golive process, once: the SDK's own logs (worker state,
 * bundling) go through golive's logger at its level, and signals are left to golive, which
 * stops its worker itself in order.
 */
export function installTemporalRuntime(logger: pino.Logger): void {
  Runtime.install({
    shutdownSignals: [],
    logger: new DefaultLogger(TEMPORAL_LEVELS[logger.level] ?? 'INFO', (entry) => {
      const method = entry.level === 'INFO' && WEBPACK_REPORT.test(entry.message) ? 'debug' : PINO_METHODS[entry.level];
      const { error, ...meta } = entry.meta ?? {};
      logger[method]({ ...meta, err: error, source: 'temporal' }, entry.message);
    }),
  });
}
