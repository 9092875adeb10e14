import type pg from 'pg';
import { durationMs } from '../definitions/duration.ts';
import { stepTarget, type ActionCall, type ResolvedTarget } from './call.ts';
import { cancellationSignal, heartbeat } from './context.ts';
import { businessFailure } from './failures.ts';
import { withClient } from './postgres-client.ts';

const POLL_MS = 500;
/** One query may not outlast this (pg's query_timeout, missing from its typings), so a hung server counts as a failing attempt. */
const ATTEMPT_TIMEOUT_MS = 10_000;

type Attempt = { passed: true } | { passed: false; error: string };

/** The innermost message: withClient wraps pg's own error with its context. */
function innermost(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? innermost(error.cause) : error.message;
}

function firstColumn(row: unknown): unknown {
  if (row === null || typeof row !== 'object') return undefined;
  return Object.values(row)[0];
}

/** Runs the health query once; an error, or a first column of false or null, is a failing answer. */
async function attempt(target: ResolvedTarget<'postgres'>, database: string | undefined, sql: string, timeoutMs: number): Promise<Attempt> {
  try {
    return await withClient(target, 'drill.health', async (client) => {
      const config: pg.QueryConfig & { query_timeout: number } = { text: sql, query_timeout: timeoutMs };
      const { rows } = await client.query(config);
      if (rows.length === 0) return { passed: true };
      const value = firstColumn(rows[0]);
      return value === false || value === null ? { passed: false, error: `first column was ${String(value)}` } : { passed: true };
    }, database);
  } catch (error) {
    return { passed: false, error: innermost(error) };
  }
}

function urlDatabase(target: ResolvedTarget<'postgres'>): string {
  try {
    return decodeURIComponent(new URL(target.spec.url).pathname.replace(/^\//, ''));
  } catch {
    throw businessFailure(`drill.health on ${target.name}: url is not a postgres:// URL`, 'InvalidTarget');
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done);
  });
}

/**
 * Polls `with.sql` on `with.database` (default: the target's own database) every 500 ms until
 * it passes, for at most `with.within`. `passedAt` is when the first passing answer arrived:
 * the moment a drill's RTO clock stops.
 */
export async function health(call: ActionCall<'drill.health'>) {
  const target = stepTarget(call, 'postgres');
  const { sql, within } = call.input;
  const database = call.input.database;
  const databaseName = database ?? urlDatabase(target);
  const withinMs = durationMs(within);
  const cancelled = cancellationSignal();
  const started = Date.now();
  const deadline = started + withinMs;
  let attempts = 0;
  let lastError = 'no attempt finished';
  for (;;) {
    const attemptStarted = Date.now();
    attempts += 1;
    const outcome = await attempt(target, database, sql, Math.min(ATTEMPT_TIMEOUT_MS, Math.max(1_000, deadline - attemptStarted)));
    if (outcome.passed) return { passedAt: new Date().toISOString(), attempts };
    lastError = outcome.error;
    heartbeat({ attempts, lastError });
    if (cancelled?.aborted) throw cancelled.reason;
    if (attemptStarted >= deadline) break;
    await sleep(Math.min(attemptStarted + POLL_MS, deadline) - Date.now(), cancelled);
    if (cancelled?.aborted) throw cancelled.reason;
  }
  throw businessFailure(
    `drill.health on ${target.name}: database ${databaseName} did not pass "${sql}" within ${within} ` +
      `(${attempts} attempt${attempts === 1 ? '' : 's'}); last error: ${lastError}`,
    'HealthCheckFailed',
  );
}
