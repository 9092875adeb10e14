import { setTimeout as delay } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';
import { durationMs } from '../../definitions/duration.ts';
import { stepTarget, type ActionCall, type ResolvedTarget } from '../call.ts';
import { cancellationSignal, heartbeat } from '../context.ts';
import { businessFailure } from '../../definitions/failures.ts';
import { permanentSqlState, urlDatabase, wrappedSqlState, withClient } from '../postgres/client.ts';

const POLL_MS = 500;
/** One query may not outlast this (pg's query_timeout, missing from its typings), so a hung server counts as a failing attempt. */
const ATTEMPT_TIMEOUT_MS = 10_000;
/** Undefined table: the restore may not have created it yet, so it is worth waiting for. */
const TABLE_NOT_THERE_YET = ['42P01'];

/** A failing attempt is `permanent` when waiting cannot make the next one pass. */
type Attempt = { passed: true } | { passed: false; error: string; permanent: boolean };

/** The innermost message: withClient wraps pg's own error with its context. */
function innermost(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? innermost(error.cause) : error.message;
}

function firstColumn(row: unknown): unknown {
  if (row === null || typeof row !== 'object') return undefined;
  return Object.values(row)[0];
}

/**
 * Bad login, no such database, SQL the server rejects, or a failure withClient already judged
 * final: polling on would only use up `within`. An undefined table is not final.
 */
function failedAttempt(error: unknown): Attempt {
  const permanent = error instanceof ApplicationFailure || permanentSqlState(error, TABLE_NOT_THERE_YET) !== undefined;
  const state = wrappedSqlState(error);
  return { passed: false, error: `${innermost(error)}${state === undefined ? '' : ` (SQLSTATE ${state})`}`, permanent };
}

/** Runs the health query once; an error, or a first column of false or null, is a failing answer. */
async function attempt(target: ResolvedTarget<'postgres'>, database: string | undefined, sql: string, timeoutMs: number): Promise<Attempt> {
  try {
    return await withClient(target, 'drill.health', async (client) => {
      const config: pg.QueryConfig & { query_timeout: number } = { text: sql, query_timeout: timeoutMs };
      const { rows } = await client.query(config);
      if (rows.length === 0) return { passed: true };
      const value = firstColumn(rows[0]);
      return value === false || value === null ? { passed: false, error: `first column was ${String(value)}`, permanent: false } : { passed: true };
    }, database);
  } catch (error) {
    return failedAttempt(error);
  }
}

/** Waits until the next poll; a cancelled activity stops waiting and ends with Temporal's reason. */
async function untilNextPoll(ms: number, cancelled: AbortSignal | undefined): Promise<void> {
  try {
    await delay(Math.max(0, ms), undefined, { signal: cancelled });
  } catch (error) {
    if (cancelled?.aborted) throw cancelled.reason;
    throw error;
  }
}

/**
 * Polls `with.sql` on `with.database` (default: the target's own database) every 500 ms until
 * it passes, for at most `with.within`. `passedAt` is when the first passing answer arrived:
 * the moment a drill's RTO clock stops. An error waiting cannot fix (bad login, no such
 * database, SQL the server rejects) fails at once; a table that is not there yet is polled on.
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
    if (outcome.permanent) {
      throw businessFailure(
        `drill.health on ${target.name}: database ${databaseName} cannot pass "${sql}": ${outcome.error}; waiting will not fix this`,
        'HealthCheckFailed',
      );
    }
    lastError = outcome.error;
    heartbeat({ attempts, lastError });
    if (cancelled?.aborted) throw cancelled.reason;
    if (attemptStarted >= deadline) break;
    await untilNextPoll(Math.min(attemptStarted + POLL_MS, deadline) - Date.now(), cancelled);
  }
  throw businessFailure(
    `drill.health on ${target.name}: database ${databaseName} did not pass "${sql}" within ${within} ` +
      `(${attempts} attempt${attempts === 1 ? '' : 's'}); last error: ${lastError}`,
    'HealthCheckFailed',
  );
}
