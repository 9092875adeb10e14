import type pg from 'pg';
import { businessFailure } from '../../definitions/failures.ts';
import { stepTarget, type ActionCall } from '../call.ts';
import { forceDropDatabase, restoreState } from './dump-restore.ts';
import { jsonSafe, rethrowPg, urlDatabase, withClient } from './client.ts';

const MAX_ROWS = 100;

/** Runs `with.sql` on the target's database, or on `with.database` of the same server. */
export async function query(call: ActionCall<'postgres.query'>) {
  const target = stepTarget(call, 'postgres');
  const { database } = call.input;
  const context = `postgres.query on ${target.name}${database === undefined ? '' : ` (database ${database})`}`;
  return withClient(target, context, async (client) => {
    let outcome: pg.QueryResult | pg.QueryResult[];
    try {
      outcome = await client.query(call.input.sql, call.input.params);
    } catch (error) {
      rethrowPg(error, context, 'QueryFailed');
    }
    const result = Array.isArray(outcome) ? outcome[outcome.length - 1] : outcome;
    const rows = result?.rows ?? [];
    return {
      rowCount: result?.rowCount ?? rows.length,
      rows: rows.slice(0, MAX_ROWS).map((row: unknown) => jsonSafe(row)),
      truncated: rows.length > MAX_ROWS,
    };
  }, database);
}

/**
 * Drops `with.database` on the target's server, ending its sessions (a drill's scratch copy).
 * Idempotent: a database that is already gone reports dropped: false. Never drops the
 * target's own database. With `with.restoredBy` (a restore step's idempotency key), drops only a
 * database that restore created; any other database of that name is left alone and the result
 * says why.
 */
export async function dropDatabase(call: ActionCall<'postgres.drop-database'>) {
  const target = stepTarget(call, 'postgres');
  const { database, restoredBy } = call.input;
  const context = `cannot drop database ${database} on ${target.name}`;
  if (database === urlDatabase(target)) {
    throw businessFailure(`${context}: it is the database target ${target.name} connects to; name a scratch database such as a drill's restored copy`, 'InvalidInput');
  }
  return withClient(target, context, async (client): Promise<{ database: string; dropped: boolean; leftAlone?: string }> => {
    try {
      if (restoredBy !== undefined && (await restoreState(client, database, restoredBy)) === 'foreign') {
        return { database, dropped: false, leftAlone: `not created by restore ${restoredBy}` };
      }
      const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      await forceDropDatabase(client, database);
      return { database, dropped: existing.rowCount === 1 };
    } catch (error) {
      return rethrowPg(error, context, 'QueryFailed');
    }
  });
}
