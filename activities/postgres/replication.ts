import pg from 'pg';
import { z } from 'zod';
import { durationMs } from '../../definitions/duration.ts';
import { businessFailure, type FailureType } from '../../definitions/failures.ts';
import { referencedTarget, stepTarget, type ActionCall, type ResolvedTarget } from '../call.ts';
import { heartbeat, previousAttempt } from '../context.ts';
import { rethrowPg, urlDatabase, withClient, wrappedSqlState } from './client.ts';

/** The first row of `sql`, checked against `schema`. */
export async function one<T>(client: pg.Client, schema: z.ZodType<T>, sql: string, params: unknown[], context: string, type: FailureType = 'QueryFailed'): Promise<T> {
  let rows: unknown[];
  try {
    ({ rows } = await client.query(sql, params));
  } catch (error) {
    rethrowPg(error, context, type);
  }
  return schema.parse(rows[0]);
}

/** Whether the server behind `client` is a standby (or still recovering). */
export async function inRecovery(client: pg.Client, context: string): Promise<boolean> {
  const row = await one(client, z.object({ recovery: z.boolean() }), 'SELECT pg_is_in_recovery() AS recovery', [], context);
  return row.recovery;
}

/** What a failed connection attempt says: pg's message, else the socket's code (an AggregateError has no message). */
export function connectError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.message) return error.message;
  if (error instanceof AggregateError) return error.errors.map(connectError).join('; ');
  return 'code' in error && typeof error.code === 'string' ? error.code : error.name;
}

/**
 * A client connected to the target within `timeoutMs`, its queries also bounded by `queryMs`;
 * or, when the server did not answer (refused, timed out, rejected the login), the error.
 * A URL that is not postgres:// still fails the step (InvalidTarget).
 */
export async function connectWithin(target: ResolvedTarget<'postgres'>, timeoutMs: number, queryMs: number): Promise<{ client: pg.Client } | { failure: unknown }> {
  urlDatabase(target);
  const client = new pg.Client({ connectionString: target.spec.url, connectionTimeoutMillis: timeoutMs, query_timeout: queryMs, statement_timeout: queryMs });
  client.on('error', () => {});
  try {
    await client.connect();
    return { client };
  } catch (failure) {
    await client.end().catch(() => {});
    return { failure };
  }
}

type Source = 'primary' | 'standby';
const Measured = z.object({ bytes: z.number().nullable(), seconds: z.number().nullable(), receiver: z.string().nullable() });
type Measured = z.infer<typeof Measured>;

const RECEIVER = '(SELECT status FROM pg_stat_wal_receiver)';

/** How far replay trails the primary's position $1, and how old the last replayed commit is. */
const BEHIND_PRIMARY = `SELECT pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::float8 AS bytes,
  EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8 AS seconds, ${RECEIVER} AS receiver`;

/** WAL received but not replayed, and the time since the standby last heard from its primary (or replayed a commit). */
const STANDBY_ALONE = `SELECT pg_wal_lsn_diff(coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), pg_last_wal_replay_lsn())::float8 AS bytes,
  EXTRACT(EPOCH FROM now() - coalesce((SELECT last_msg_receipt_time FROM pg_stat_wal_receiver), pg_last_xact_replay_timestamp()))::float8 AS seconds,
  ${RECEIVER} AS receiver`;

/**
 * The data a failover to the step's target (a standby) would lose now: its exposure. When the
 * primary named in `with.primary` answers within `primaryTimeout`, the standby gets `catchUp`
 * to reach the primary's current position and what is left counts (seconds are 0 when no WAL
 * is left, else the age of the last replayed commit). When the primary does not answer (a
 * region that is gone), the standby alone gives an upper bound: WAL received but not replayed,
 * and the time since it last heard from the primary. A primary that is itself in recovery fails
 * the step; a target that is no longer a standby reports standbyInRecovery false and nulls.
 */
export async function replicationLag(call: ActionCall<'postgres.replication-lag'>) {
  const standby = stepTarget(call, 'postgres');
  const primary = referencedTarget(call, call.input.primary, 'postgres');
  const context = `postgres.replication-lag of ${standby.name}`;
  return withClient(standby, context, async (client) => {
    if (!(await inRecovery(client, context))) {
      const exposure = { bytes: null, seconds: null, source: 'standby' as Source };
      return { lagBytes: null, lagSeconds: null, standbyInRecovery: false, primaryReachable: null, receiver: null, exposure };
    }
    const position = await primaryPosition(primary, durationMs(call.input.primaryTimeout), context);
    if ('error' in position) {
      const alone = await one(client, Measured, STANDBY_ALONE, [], context);
      return lagResult(alone, 'standby', position.error);
    }
    return lagResult(await caughtUp(client, position.lsn, durationMs(call.input.catchUp), context), 'primary');
  });
}

function lagResult(measured: Measured, source: Source, primaryError?: string) {
  const bytes = measured.bytes === null ? null : Math.max(0, measured.bytes);
  const seconds = source === 'primary' && bytes === 0 ? 0 : roundSeconds(measured.seconds);
  return {
    lagBytes: bytes,
    lagSeconds: seconds,
    standbyInRecovery: true,
    primaryReachable: primaryError === undefined,
    ...(primaryError === undefined ? {} : { primaryError }),
    receiver: measured.receiver,
    exposure: { bytes, seconds, source },
  };
}

const PrimaryRow = z.object({ recovery: z.boolean(), lsn: z.string().nullable() });

/** The primary's current WAL position, or why it did not answer within `timeoutMs`. */
async function primaryPosition(primary: ResolvedTarget<'postgres'>, timeoutMs: number, context: string): Promise<{ lsn: string } | { error: string }> {
  const connected = await connectWithin(primary, timeoutMs, timeoutMs);
  if ('failure' in connected) return { error: connectError(connected.failure) };
  let row: z.infer<typeof PrimaryRow>;
  try {
    const { rows } = await connected.client.query(`SELECT pg_is_in_recovery() AS recovery,
      CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS lsn`);
    row = PrimaryRow.parse(rows[0]);
  } catch (error) {
    return { error: connectError(error) };
  } finally {
    await connected.client.end().catch(() => {});
  }
  if (row.recovery || row.lsn === null) {
    throw businessFailure(`${context}: ${primary.name} is in recovery, so it is not a primary to compare with`, 'InvalidTarget');
  }
  return { lsn: row.lsn };
}

/** Polls the standby until it has replayed up to `lsn` or `catchUpMs` has passed; what is left then. */
async function caughtUp(client: pg.Client, lsn: string, catchUpMs: number, context: string): Promise<Measured> {
  const deadline = Date.now() + catchUpMs;
  for (;;) {
    const measured = await one(client, Measured, BEHIND_PRIMARY, [lsn], context);
    if (measured.bytes === null || measured.bytes <= 0 || Date.now() >= deadline) return measured;
    heartbeat();
    await sleep(50);
  }
}

function roundSeconds(seconds: number | null): number | null {
  return seconds === null ? null : Math.max(0, Math.round(seconds * 1000) / 1000);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What a promote attempt heartbeats: it asked for promotion, and when it saw the server become primary. */
const PromoteRequested = z.object({ promoteRequested: z.literal(true), at: z.string().optional() });

/**
 * Promotes the target standby, waits until it is out of recovery, checks it accepts writes and
 * reports its timeline. Idempotent: a primary is left alone (alreadyPrimary), and a retry after
 * this step's own promotion reports promoted, using the heartbeat the earlier attempt left.
 * `at` is when this step saw it become primary; when it did not, the server's own record of
 * the switch (its timeline history file), or null when that cannot be read.
 */
export async function promote(call: ActionCall<'postgres.promote'>) {
  const target = stepTarget(call, 'postgres');
  const context = `postgres.promote of ${target.name}`;
  const earlier = previousAttempt(PromoteRequested);
  const started = Date.now();
  return withClient(target, context, async (client) => {
    let outcome: { promoted: boolean; alreadyPrimary: boolean; waitedMs: number; at: string | null };
    if (await inRecovery(client, context)) {
      heartbeat({ promoteRequested: true });
      const signalled = await one(client, z.object({ signalled: z.boolean() }), 'SELECT pg_promote(false) AS signalled', [], context, 'PromoteFailed');
      if (!signalled.signalled) throw businessFailure(`${context}: pg_promote could not signal the server`, 'PromoteFailed');
      await waitUntilPrimary(client, durationMs(call.input.wait), context);
      const at = new Date().toISOString();
      heartbeat({ promoteRequested: true, at });
      outcome = { promoted: true, alreadyPrimary: false, waitedMs: Date.now() - started, at };
    } else {
      outcome = { promoted: earlier !== undefined, alreadyPrimary: earlier === undefined, waitedMs: 0, at: earlier?.at ?? null };
    }
    await checkWritable(client, context);
    const timeline = await currentTimeline(client, context);
    return { ...outcome, at: outcome.at ?? (await switchedAt(client, timeline)), timeline, writable: true };
  });
}

async function waitUntilPrimary(client: pg.Client, waitMs: number, context: string): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (await inRecovery(client, context)) {
    if (Date.now() > deadline) {
      throw businessFailure(`${context}: still in recovery ${Math.round(waitMs / 1000)}s after pg_promote`, 'PromoteFailed');
    }
    heartbeat();
    await sleep(50);
  }
}

/** Takes a transaction id in a read-write transaction, then rolls back: refused (25006) means it cannot take writes. */
async function checkWritable(client: pg.Client, context: string): Promise<void> {
  try {
    await client.query('BEGIN READ WRITE');
    await client.query('SELECT pg_current_xact_id()');
    await client.query('ROLLBACK');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    if (wrappedSqlState(error) === '25006') {
      throw businessFailure(`${context}: it is out of recovery but refuses writes: ${connectError(error)}`, 'PromoteFailed', error);
    }
    rethrowPg(error, `${context}: checking it accepts writes`, 'PromoteFailed');
  }
}

/** The timeline the server writes WAL on now (1 for a cluster never promoted; each promotion adds one). */
async function currentTimeline(client: pg.Client, context: string): Promise<number> {
  const row = await one(client, z.object({ timeline: z.number().int() }),
    `SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int AS timeline`, [], context, 'PromoteFailed');
  return row.timeline;
}

/** When the server switched to `timeline` (its history file's time), or null when unknown or not readable. */
async function switchedAt(client: pg.Client, timeline: number): Promise<string | null> {
  const file = `pg_wal/${timeline.toString(16).toUpperCase().padStart(8, '0')}.history`;
  try {
    const { rows } = await client.query<{ at: Date | null }>('SELECT (pg_stat_file($1, true)).modification AS at', [file]);
    return rows[0]?.at?.toISOString() ?? null;
  } catch {
    return null;
  }
}
