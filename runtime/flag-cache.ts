import { setTimeout as delay } from 'node:timers/promises';
import type pg from 'pg';
import type { FlagState } from '../activities/flags/provider.ts';
import { FLAG_COLUMNS, flagState } from '../store/flags.ts';

/**
 * Every built-in flag in memory, so an OFREP evaluation never waits on Postgres. One connection
 * LISTENs on `golive_flags` (migration 006's trigger notifies on every change) and the flag named
 * in a notification is read again; when that connection drops it reconnects with backoff and
 * reads every flag again, since notifications sent while it was away are lost. Until then,
 * evaluations answer from the last state read.
 */
export interface FlagCache {
  /** One flag of one environment, from memory. */
  flag(environment: string, key: string): FlagState | undefined;
  /** Every flag of one environment, sorted by key, from memory. */
  flags(environment: string): readonly FlagState[];
  /** Changes on every reload: a reader can tell whether what it saw is still what the cache holds. */
  readonly version: number;
  close(): Promise<void>;
}

export interface FlagCacheOptions {
  logger?: { info(fields: object, message: string): void; warn(fields: object, message: string): void };
  /** The first wait before reconnecting and its ceiling; it doubles in between. */
  backoff?: { firstMs: number; maxMs: number };
}

export const FLAGS_CHANNEL = 'golive_flags';
const DEFAULT_BACKOFF = { firstMs: 100, maxMs: 5_000 };
/** A reload that failed while the listener stayed up (a busy pool, a query timeout) is tried again after this. */
const RELOAD_RETRY_MS = 1_000;

type Pending = { kind: 'all' } | { kind: 'some'; flags: Map<string, { key: string; environment: string }> };

const slot = (environment: string, key: string) => `${environment}\u0000${key}`;

/** The flag a notification names; undefined when the payload is not what the trigger sends (then everything is read again). */
function notified(payload: string | undefined): { key: string; environment: string } | undefined {
  try {
    const value: unknown = JSON.parse(payload ?? '');
    if (typeof value !== 'object' || value === null || !('key' in value) || !('environment' in value)) return undefined;
    const { key, environment } = value;
    return typeof key === 'string' && typeof environment === 'string' ? { key, environment } : undefined;
  } catch {
    return undefined;
  }
}

/** Loads every flag, starts listening, and keeps both current until close(). */
export async function startFlagCache(pool: pg.Pool, options: FlagCacheOptions = {}): Promise<FlagCache> {
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const stopping = new AbortController();
  let byEnvironment = new Map<string, Map<string, FlagState>>();
  const sorted = new Map<string, FlagState[]>();
  let version = 0;
  /** Ends the listening connection; undefined while there is none. */
  let stopListening: (() => void) | undefined;
  let pending: Pending | undefined;
  /** The current (or last) run of drain, for close() to wait for. */
  let draining: Promise<void> = Promise.resolve();
  /** Cleared by drain in the same turn as its last look at `pending`, so a wish made after that look starts a new run. */
  let running = false;

  function put(flag: FlagState): void {
    const flags = byEnvironment.get(flag.environment) ?? new Map<string, FlagState>();
    flags.set(flag.key, flag);
    byEnvironment.set(flag.environment, flags);
    sorted.delete(flag.environment);
  }

  function remove(environment: string, key: string): void {
    byEnvironment.get(environment)?.delete(key);
    sorted.delete(environment);
  }

  async function reloadAll(): Promise<void> {
    const { rows } = await pool.query(`SELECT ${FLAG_COLUMNS} FROM flags`);
    byEnvironment = new Map();
    sorted.clear();
    for (const row of rows) put(flagState(row));
  }

  async function reloadSome(flags: Map<string, { key: string; environment: string }>): Promise<void> {
    const wanted = [...flags.values()];
    const { rows } = await pool.query(
      `SELECT ${FLAG_COLUMNS} FROM flags WHERE (key, environment) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      [wanted.map((flag) => flag.key), wanted.map((flag) => flag.environment)],
    );
    const found = new Set<string>();
    for (const row of rows) {
      const flag = flagState(row);
      found.add(slot(flag.environment, flag.key));
      put(flag);
    }
    for (const flag of wanted) if (!found.has(slot(flag.environment, flag.key))) remove(flag.environment, flag.key);
  }

  /** Adds to what the next reload reads; a pending full reload already covers any single flag. */
  function want(flag: { key: string; environment: string } | 'all'): void {
    if (flag === 'all') pending = { kind: 'all' };
    else if (pending?.kind !== 'all') {
      const flags = pending?.flags ?? new Map();
      flags.set(slot(flag.environment, flag.key), flag);
      pending = { kind: 'some', flags };
    }
  }

  /**
   * One reload at a time, in order, so an older answer never overwrites a newer one. A failed
   * reload is tried again (or, with `failFast`, at start, thrown).
   */
  async function drain(failFast: boolean): Promise<void> {
    try {
      while (pending && !stopping.signal.aborted) {
        const batch = pending;
        pending = undefined;
        try {
          if (batch.kind === 'all') await reloadAll();
          else await reloadSome(batch.flags);
          version += 1;
        } catch (error) {
          if (failFast) throw error;
          options.logger?.warn({ err: error }, 'cannot read golive\'s flags again; evaluations answer from the last state read until it works');
          if (batch.kind === 'all') want('all');
          else for (const flag of batch.flags.values()) want(flag);
          await delay(RELOAD_RETRY_MS, undefined, { signal: stopping.signal }).catch(() => undefined);
        }
      }
    } finally {
      running = false;
    }
  }

  /** Resolves once what was asked for has been read (by this call's drain or the one already running). */
  function reload(flag: { key: string; environment: string } | 'all', failFast = false): Promise<void> {
    want(flag);
    if (!running) {
      running = true;
      draining = drain(failFast);
    }
    return draining;
  }

  /**
   * A listening connection of its own; LISTEN comes before the full read, so no change falls
   * between them. Once it listens, losing it starts a reconnect; failing before that is the caller's to handle.
   */
  async function listen(): Promise<void> {
    const client = await pool.connect();
    let released = false;
    const end = (error?: Error) => {
      if (released) return false;
      released = true;
      client.release(error ?? true);
      return true;
    };
    client.on('notification', (message) => void reload(notified(message.payload) ?? 'all'));
    client.on('error', (error) => dropped(end(error), error));
    client.on('end', () => dropped(end()));
    try {
      await client.query(`LISTEN ${FLAGS_CHANNEL}`);
    } catch (error) {
      end(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
    stopListening = () => end();
  }

  /** The listening connection went away: reconnect, unless it was this cache closing it. */
  function dropped(wasListening: boolean, error?: Error): void {
    if (!wasListening || stopping.signal.aborted || !stopListening) return;
    stopListening = undefined;
    options.logger?.warn({ err: error }, 'the connection listening for flag changes dropped; reconnecting');
    void reconnect();
  }

  /** Tries again with a doubling wait until it listens and has read every flag, or the cache is closed. */
  async function reconnect(): Promise<void> {
    let wait = backoff.firstMs;
    while (!stopping.signal.aborted) {
      await delay(wait, undefined, { signal: stopping.signal }).catch(() => undefined);
      if (stopping.signal.aborted) return;
      try {
        await listen();
        await reload('all');
        options.logger?.info({}, 'listening for flag changes again; every flag read again');
        return;
      } catch {
        wait = Math.min(wait * 2, backoff.maxMs);
      }
    }
  }

  await listen();
  await reload('all', true).catch((error: unknown) => {
    stopListening?.();
    throw error;
  });
  return {
    flag: (environment, key) => byEnvironment.get(environment)?.get(key),
    flags(environment) {
      let flags = sorted.get(environment);
      if (!flags) {
        flags = [...(byEnvironment.get(environment)?.values() ?? [])].sort((left, right) => (left.key < right.key ? -1 : left.key > right.key ? 1 : 0));
        sorted.set(environment, flags);
      }
      return flags;
    },
    get version() {
      return version;
    },
    async close() {
      stopping.abort();
      stopListening?.();
      stopListening = undefined;
      await draining;
    },
  };
}
