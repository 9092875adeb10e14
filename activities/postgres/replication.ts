import type pg from 'pg';
import { z } from 'zod';
import { durationMs } from '../../definitions/duration.ts';
import { businessFailure, type FailureType } from '../../definitions/failures.ts';
import { referencedTarget, stepTarget, type ActionCall, type ResolvedTarget } from '../call.ts';
import { heartbeat, previousAttempt } from '../context.ts';
import { rethrowPg, withClient } from './client.ts';

const StandbyRow = z.object({ recovery: z.boolean(), replay: z.string().nullable(), seconds: z.number().nullable() });
const PrimaryRow = z.object({ recovery: z.boolean(), bytes: z.number().nullable() });

/** The first row of `sql`, checked against `schema`. */
async function one<T>(client: pg.Client, schema: z.ZodType<T>, sql: string, params: unknown[], context: string, type: FailureType = 'QueryFailed'): Promise<T> {
  let rows: unknown[];
  try {
    ({ rows } = await client.query(sql, params));
  } catch (error) {
    rethrowPg(error, context, type);
  }
  return schema.parse(rows[0]);
}

/**
 * How far the step's target (a standby) trails the primary named in `with.primary`. The standby
 * is read first, so the byte count errs on the high side. Seconds are time since the last
 * replayed transaction, reported as 0 when no WAL is outstanding (an idle primary is not lag).
 */
export async function replicationLag(call: ActionCall<'postgres.replication-lag'>) {
  const standby = stepTarget(call, 'postgres');
  const primary = referencedTarget(call, call.input.primary, 'postgres');
  const context = `postgres.replication-lag of ${standby.name}`;
  const replayed = await withClient(standby, context, (client) =>
    one(client, StandbyRow, `SELECT pg_is_in_recovery() AS recovery, pg_last_wal_replay_lsn()::text AS replay,
       EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8 AS seconds`, [], context),
  );
  if (!replayed.recovery || replayed.replay === null) {
    return { lagBytes: null, lagSeconds: null, standbyInRecovery: replayed.recovery };
  }
  const ahead = await withClient(primary, context, (client) =>
    one(client, PrimaryRow, `SELECT pg_is_in_recovery() AS recovery,
       CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::float8 END AS bytes`,
    [replayed.replay], context),
  );
  if (ahead.recovery || ahead.bytes === null) {
    throw businessFailure(`${context}: ${primary.name} is in recovery, so it is not a primary to compare with`, 'InvalidTarget');
  }
  const lagBytes = Math.max(0, ahead.bytes);
  const lagSeconds = lagBytes === 0 ? 0 : roundSeconds(replayed.seconds);
  return { lagBytes, lagSeconds, standbyInRecovery: true };
}

function roundSeconds(seconds: number | null): number | null {
  return seconds === null ? null : Math.max(0, Math.round(seconds * 1000) / 1000);
}

const PromoteRequested = z.object({ promoteRequested: z.literal(true) });

async function inRecovery(client: pg.Client, context: string): Promise<boolean> {
  const row = await one(client, z.object({ recovery: z.boolean() }), 'SELECT pg_is_in_recovery() AS recovery', [], context);
  return row.recovery;
}

/**
 * Promotes the target standby and waits until it accepts writes. Idempotent: a primary is left
 * alone (alreadyPrimary), and a retry after this step's own promotion reports promoted, using
 * the heartbeat the earlier attempt left.
 */
export async function promote(call: ActionCall<'postgres.promote'>) {
  const target = stepTarget(call, 'postgres');
  const context = `cannot promote ${target.name}`;
  const requestedBefore = previousAttempt(PromoteRequested) !== undefined;
  const started = Date.now();
  return withClient(target, context, async (client) => {
    if (!(await inRecovery(client, context))) {
      return { promoted: requestedBefore, alreadyPrimary: !requestedBefore, waitedMs: 0 };
    }
    const details = { promoteRequested: true };
    heartbeat(details);
    const signalled = await one(client, z.object({ signalled: z.boolean() }), 'SELECT pg_promote(false) AS signalled', [], context, 'PromoteFailed');
    if (!signalled.signalled) throw businessFailure(`${context}: pg_promote could not signal the server`, 'PromoteFailed');
    await waitUntilPrimary(client, target, durationMs(call.input.wait), details);
    return { promoted: true, alreadyPrimary: false, waitedMs: Date.now() - started };
  });
}

async function waitUntilPrimary(client: pg.Client, target: ResolvedTarget<'postgres'>, waitMs: number, details: unknown): Promise<void> {
  const deadline = Date.now() + waitMs;
  const context = `cannot promote ${target.name}`;
  while (await inRecovery(client, context)) {
    if (Date.now() > deadline) {
      throw businessFailure(`${context}: still in recovery ${Math.round(waitMs / 1000)}s after pg_promote`, 'PromoteFailed');
    }
    heartbeat(details);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
