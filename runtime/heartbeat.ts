import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from 'pino';
import { HEARTBEAT_DDL, HEARTBEAT_SCHEMA, HEARTBEAT_TABLE } from '../definitions/heartbeat.ts';
import { permanentSqlState } from '../activities/postgres/client.ts';

const TABLE = `${HEARTBEAT_SCHEMA}.${HEARTBEAT_TABLE}`;
const INSERT_SQL = `INSERT INTO ${TABLE} DEFAULT VALUES RETURNING beat_at`;
const PRUNE_SQL = `DELETE FROM ${TABLE} WHERE beat_at < now() - interval '7 days'`;
const PRUNE_EVERY_MS = 3_600_000;

/** The URL without its user and password, for messages and logs. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return 'an unparsable postgres URL';
  }
}

function connect(url: string, timeoutMs: number): pg.Client {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    keepAlive: true,
    application_name: 'golive heartbeat',
  });
  client.on('error', () => {});
  return client;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Missing table or privilege, bad login, no such database, a malformed URL: waiting will not fix these. */
function isFatal(error: unknown): boolean {
  return error instanceof TypeError || permanentSqlState(error) !== undefined;
}

/** Creates golive's heartbeat table on the database at `url`; `created` is false when it was already there. */
export async function installHeartbeat(url: string): Promise<{ created: boolean }> {
  const client = connect(url, 10_000);
  const where = `${TABLE} on ${describeUrl(url)}`;
  try {
    await client.connect();
    const before = await client.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [TABLE]);
    await client.query(HEARTBEAT_DDL);
    return { created: before.rows[0]?.found === null };
  } catch (error) {
    throw new Error(`cannot install heartbeat table ${where}: ${message(error)}`, { cause: error });
  } finally {
    await client.end().catch(() => {});
  }
}

export interface Beat {
  at: Date;
  /** Beats written so far by this writer, this one included. */
  beats: number;
}

export interface HeartbeatOptions {
  intervalMs?: number;
  signal: AbortSignal;
  onBeat?: (beat: Beat) => void;
  logger?: Pick<Logger, 'info' | 'warn'>;
}

/** Resolves after `ms`, or at once when `signal` aborts (the writer's loop then ends). */
async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await delay(Math.max(0, ms), undefined, { signal });
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

/**
 * Writes one heartbeat row per interval to the database at `url` until `signal` aborts, and
 * deletes rows older than 7 days at start and then hourly. Beats are scheduled from the start
 * time, so they do not drift; slots missed while the database was unreachable are skipped.
 * A lost connection is logged and reopened on the next beat; only errors that waiting cannot
 * fix (no table, no privilege, bad login, no database) end the writer, with a thrown Error.
 */
export async function runHeartbeat(url: string, options: HeartbeatOptions): Promise<{ beats: number }> {
  const intervalMs = options.intervalMs ?? 1_000;
  if (!Number.isFinite(intervalMs) || intervalMs < 10) throw new RangeError(`heartbeat interval must be at least 10ms, got ${intervalMs}`);
  const where = describeUrl(url);
  const timeoutMs = Math.max(5_000, intervalMs);
  const start = Date.now();
  let client: pg.Client | undefined;
  let beats = 0;
  let slot = 0;
  let nextPrune = start;
  let outageSince: number | undefined;
  try {
    while (!options.signal.aborted) {
      try {
        if (client === undefined) {
          const fresh = connect(url, timeoutMs);
          client = fresh;
          await fresh.connect();
        }
        if (Date.now() >= nextPrune) {
          await client.query(PRUNE_SQL);
          nextPrune = Date.now() + PRUNE_EVERY_MS;
        }
        const { rows } = await client.query<{ beat_at: Date }>(INSERT_SQL);
        beats += 1;
        if (outageSince !== undefined) {
          options.logger?.info({ database: where, downMs: Date.now() - outageSince }, `heartbeat reconnected to ${where}`);
          outageSince = undefined;
        }
        options.onBeat?.({ at: rows[0]?.beat_at ?? new Date(), beats });
      } catch (error) {
        await client?.end().catch(() => {});
        client = undefined;
        if (isFatal(error)) throw new Error(`cannot write heartbeat to ${TABLE} on ${where}: ${message(error)}`, { cause: error });
        if (outageSince === undefined) {
          outageSince = Date.now();
          options.logger?.warn({ database: where, err: message(error) }, `heartbeat lost ${where}: ${message(error)}; reconnecting every beat`);
        }
      }
      slot = Math.max(slot + 1, Math.ceil((Date.now() - start) / intervalMs));
      await sleep(start + slot * intervalMs - Date.now(), options.signal);
    }
  } finally {
    await client?.end().catch(() => {});
  }
  return { beats };
}

export interface BackgroundHeartbeat {
  /** Ends the writer and waits until it closed its connection. */
  stop(): Promise<void>;
}

/**
 * Installs the heartbeat table on `url` (or fails), then writes one row a second in the
 * background until stop(); a writer that ends on its own logs why as an error.
 */
export async function startHeartbeat(url: string, logger: Pick<Logger, 'info' | 'warn' | 'error'>): Promise<BackgroundHeartbeat> {
  await installHeartbeat(url);
  const controller = new AbortController();
  const running = runHeartbeat(url, { intervalMs: 1_000, signal: controller.signal, logger }).then(
    () => undefined,
    (error: unknown) => logger.error({ database: describeUrl(url) }, `heartbeat writer stopped: ${message(error)}`),
  );
  return {
    stop: async () => {
      controller.abort();
      await running;
    },
  };
}
