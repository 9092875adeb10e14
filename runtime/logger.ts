import pino from 'pino';
import { DefaultLogger, Runtime } from '@temporalio/worker';

/** Structured logs. Fields that could hold secrets are redacted wherever they appear. */
export function createLogger(level: string, name = 'golive'): pino.Logger {
  return pino({
    name,
    level,
    redact: {
      paths: ['*.password', '*.token', '*.apiKey', '*.url', '*.databaseUrl', '*.connectionString', 'env', '*.env', 'headers.authorization'],
      censor: '[redacted]',
    },
  });
}

const TEMPORAL_LEVELS = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR', fatal: 'ERROR', silent: 'ERROR' } as const;

/**
 * Sets up the Temporal runtime of a golive process, once: the SDK's own logs (worker state,
 * bundling) go through golive's logger, and signals are left to golive, which stops its worker
 * itself in order.
 */
export function installTemporalRuntime(logger: pino.Logger, level: keyof typeof TEMPORAL_LEVELS): void {
  Runtime.install({
    shutdownSignals: [],
    logger: new DefaultLogger(TEMPORAL_LEVELS[level], (entry) => {
      const method = entry.level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
      const { error, ...meta } = entry.meta ?? {};
      logger[method]({ ...meta, err: error, source: 'temporal' }, entry.message);
    }),
  });
}
