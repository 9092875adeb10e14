import type pg from 'pg';
import { z } from 'zod';
import { durationMs } from '../../definitions/duration.ts';
import { businessFailure } from '../../definitions/failures.ts';
import { stepTarget, type ActionCall, type ResolvedTarget } from '../call.ts';
import { heartbeat, previousAttempt } from '../context.ts';
import { permanentSqlState, rethrowPg, wrappedSqlState } from './client.ts';
import { connectError, connectWithin, inRecovery, one } from './replication.ts';

/** How long one statement of a fence or unfence may take before the attempt fails (and is retried). */
const QUERY_MS = 30_000;
/** Unfence has no `with`: it waits as long for a connection as any other action. */
const UNFENCE_CONNECT_MS = 10_000;
/** How long a reloaded setting may take to reach new sessions before the verification fails. */
const VERIFY_MS = 5_000;

const READ_ONLY_SQL_TRANSACTION = '25006';

/** What a fence attempt heartbeats before it changes anything: a retry knows it may be part-fenced. */
const FencingBegun = z.object({ fenced: z.literal(true) });

/**
 * A connected client, or why the server did not answer (refused, timed out, gone).
 * A server that answered with a bad login or a missing database is up but cannot be reached by
 * golive: that fails the step rather than being reported as unreachable.
 */
async function reach(target: ResolvedTarget<'postgres'>, connectMs: number, context: string): Promise<{ client: pg.Client } | { error: string }> {
  const connected = await connectWithin(target, connectMs, QUERY_MS);
  if ('client' in connected) return connected;
  if (permanentSqlState(connected.failure) !== undefined) {
    rethrowPg(connected.failure, `${context}: ${target.name} answered but refused the connection`, 'QueryFailed');
  }
  return { error: connectError(connected.failure) };
}

async function exec(client: pg.Client, sql: string, context: string): Promise<void> {
  try {
    await client.query(sql);
  } catch (error) {
    rethrowPg(error, context, 'QueryFailed');
  }
}

/** Ends every client session but this one; how many it signalled. */
const END_SESSIONS = `SELECT (count(*) FILTER (WHERE pg_terminate_backend(pid)))::int AS ended
  FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`;

/**
 * Stops the target, an old primary, from accepting writes: sets default_transaction_read_only
 * for the whole server (ALTER SYSTEM and a reload), ends the client sessions open on it (their
 * transactions began read-write), then checks from a new session that the setting holds and a
 * write is refused. Reports `fenced`, `not-primary` (it is a standby) or `unreachable` (it did
 * not answer within `connectTimeout`; the run goes on and the failover record says so).
 * Idempotent: fencing a fenced primary reports fenced. Sessions that ask for a read-write
 * transaction explicitly can still write: this fences applications, not a determined superuser.
 */
export async function fence(call: ActionCall<'postgres.fence'>) {
  const target = stepTarget(call, 'postgres');
  const context = `postgres.fence of ${target.name}`;
  const connectMs = durationMs(call.input.connectTimeout);
  const reached = await reach(target, connectMs, context);
  if ('error' in reached) {
    const begun = previousAttempt(FencingBegun) !== undefined;
    return { state: 'unreachable' as const, error: reached.error, ...(begun ? { fencingBegun: true } : {}) };
  }
  let sessionsEnded: number;
  try {
    if (await inRecovery(reached.client, context)) return { state: 'not-primary' as const };
    heartbeat({ fenced: true });
    await exec(reached.client, 'ALTER SYSTEM SET default_transaction_read_only = on', context);
    await exec(reached.client, 'SELECT pg_reload_conf()', context);
    ({ ended: sessionsEnded } = await one(reached.client, z.object({ ended: z.number() }), END_SESSIONS, [], context));
  } finally {
    await reached.client.end().catch(() => {});
  }
  await verify(target, connectMs, true, context);
  return { state: 'fenced' as const, sessionsEnded, verified: true };
}

/**
 * Lets the target, a fenced primary, accept writes again (the compensation of postgres.fence):
 * resets default_transaction_read_only and reloads, then checks from a new session that a write
 * goes through. Reports `unfenced`, `not-primary` or `unreachable`.
 */
export async function unfence(call: ActionCall<'postgres.unfence'>) {
  const target = stepTarget(call, 'postgres');
  const context = `postgres.unfence of ${target.name}`;
  const reached = await reach(target, UNFENCE_CONNECT_MS, context);
  if ('error' in reached) return { state: 'unreachable' as const, error: reached.error };
  try {
    if (await inRecovery(reached.client, context)) return { state: 'not-primary' as const };
    await exec(reached.client, 'ALTER SYSTEM RESET default_transaction_read_only', context);
    await exec(reached.client, 'SELECT pg_reload_conf()', context);
  } finally {
    await reached.client.end().catch(() => {});
  }
  await verify(target, UNFENCE_CONNECT_MS, false, context);
  return { state: 'unfenced' as const };
}

/**
 * Checks from new sessions, until VERIFY_MS has passed (a reload reaches the server's processes
 * a moment later), that default_transaction_read_only is `readOnly` and a write in a default
 * transaction is refused (readOnly) or goes through (not readOnly).
 */
async function verify(target: ResolvedTarget<'postgres'>, connectMs: number, readOnly: boolean, context: string): Promise<void> {
  const deadline = Date.now() + VERIFY_MS;
  for (;;) {
    const seen = await probe(target, connectMs, context);
    if (seen.readOnly === readOnly && seen.writeRefused === readOnly) return;
    if (Date.now() > deadline) {
      const found = `default_transaction_read_only is ${seen.readOnly ? 'on' : 'off'} and a write was ${seen.writeRefused ? 'refused' : 'accepted'}`;
      throw businessFailure(`${context}: a new session still ${readOnly ? 'can write' : 'cannot write'} ${VERIFY_MS / 1000}s after the reload (${found})`, 'VerificationFailed');
    }
    heartbeat();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** One new session's view: the read-only default, and whether creating a table (rolled back) is refused. */
async function probe(target: ResolvedTarget<'postgres'>, connectMs: number, context: string): Promise<{ readOnly: boolean; writeRefused: boolean }> {
  const reached = await reach(target, connectMs, context);
  if ('error' in reached) throw new Error(`${context}: ${target.name} stopped answering while being checked: ${reached.error}`);
  const { client } = reached;
  try {
    const shown = await one(client, z.object({ default_transaction_read_only: z.string() }), 'SHOW default_transaction_read_only', [], context);
    return { readOnly: shown.default_transaction_read_only === 'on', writeRefused: await writeRefused(client, context) };
  } finally {
    await client.end().catch(() => {});
  }
}

async function writeRefused(client: pg.Client, context: string): Promise<boolean> {
  try {
    await client.query('BEGIN');
    await client.query('CREATE TEMP TABLE golive_write_probe (id int)');
    return false;
  } catch (error) {
    if (wrappedSqlState(error) === READ_ONLY_SQL_TRANSACTION) return true;
    rethrowPg(error, `${context}: trying a write`, 'QueryFailed');
  } finally {
    await client.query('ROLLBACK').catch(() => {});
  }
}
