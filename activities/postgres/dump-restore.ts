import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';
import { stepTarget, type ActionCall, type ResolvedTarget } from '../call.ts';
import { businessFailure } from '../../definitions/failures.ts';
import { runTool } from './pg-tool.ts';
import { libpqEnvironment, rethrowPg, withClient } from './client.ts';
import type { ActionDeps } from '../types.ts';

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest('hex');
}

/** pg_dump -Fc to a temporary file renamed into place, so a retry never leaves half a dump. */
export async function dump(deps: ActionDeps, call: ActionCall<'postgres.dump'>) {
  const target = stepTarget(call, 'postgres');
  const file = resolve(call.input.file);
  const partial = `${file}.partial`;
  await mkdir(dirname(file), { recursive: true });
  const context = `postgres.dump of ${target.name}`;
  try {
    await runTool(deps, { tool: 'pg_dump', args: ['--format=custom', '--no-password', `--file=${partial}`], env: libpqEnvironment(target), context, type: 'DumpFailed' });
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  await rename(partial, file);
  return { file, bytes: (await stat(file)).size, sha256: await sha256Of(file) };
}

/**
 * Restores a pg_dump -Fc file into a new database on the target's server, with the marker
 * scheme of restoreOnce.
 */
export async function restore(deps: ActionDeps, call: ActionCall<'postgres.restore'>) {
  const target = stepTarget(call, 'postgres');
  const { database } = call.input;
  const file = resolve(call.input.file);
  const context = `cannot restore ${call.input.file} into ${database} on ${target.name}`;
  if (!existsSync(file)) throw businessFailure(`${context}: the backup file does not exist`, 'BackupMissing');
  return restoreOnce({ target, database, key: call.request.idempotencyKey, context }, () => {
    const args = [...PG_RESTORE_ARGS, `--dbname=${database}`, file];
    return runTool(deps, { tool: 'pg_restore', args, env: libpqEnvironment(target, database), context, type: 'RestoreFailed' });
  });
}

/** pg_restore options every golive restore uses: objects owned by whoever restores, stop at the first error. */
export const PG_RESTORE_ARGS = ['--no-owner', '--no-privileges', '--exit-on-error', '--no-password'] as const;

export interface RestorePlace {
  target: ResolvedTarget<'postgres'>;
  database: string;
  /** The step's idempotency key: the same on every retry. */
  key: string;
  context: string;
}

/**
 * Creates `database` and runs `load` to fill it. The database is marked with the step's
 * idempotency key: a retry drops its own half-restored database and starts again, or reports a
 * restore that already finished; any other database of that name is left alone and the step
 * fails. A load that fails for good drops the database it made.
 */
export async function restoreOnce(place: RestorePlace, load: () => Promise<void>): Promise<{ database: string; tables: number }> {
  const { target, database, key, context } = place;
  const state = await withClient(target, context, async (client) => {
    try {
      return await prepareDatabase(client, database, key);
    } catch (error) {
      return rethrowPg(error, context, 'RestoreFailed');
    }
  });
  if (state === 'foreign') {
    throw businessFailure(`${context}: database ${database} already exists and was not created by this step`, 'DatabaseExists');
  }
  if (state !== 'done') {
    try {
      await load();
    } catch (error) {
      if (error instanceof ApplicationFailure && error.nonRetryable) await dropOwnDatabase(target, database, context);
      throw error;
    }
    await withClient(target, context, (client) => markDatabase(client, database, marker(key, 'done')));
  }
  return { database, tables: await userTables(target, database, context) };
}

/** What a database of the given name is to the restore step with a given key. */
export type RestoreState = 'absent' | 'started' | 'done' | 'foreign';

const marker = (key: string, phase: 'started' | 'done') => `golive restore ${key} ${phase}`;

/** Reads golive's restore marker, the database comment restoreOnce writes, for the step with idempotency key `key`. */
export async function restoreState(client: pg.Client, database: string, key: string): Promise<RestoreState> {
  const { rows } = await client.query<{ note: string | null }>(
    `SELECT shobj_description(oid, 'pg_database') AS note FROM pg_database WHERE datname = $1`,
    [database],
  );
  if (rows.length === 0) return 'absent';
  const note = rows[0]?.note;
  if (note === marker(key, 'done')) return 'done';
  return note === marker(key, 'started') ? 'started' : 'foreign';
}

async function markDatabase(client: pg.Client, database: string, note: string): Promise<void> {
  await client.query(`COMMENT ON DATABASE ${client.escapeIdentifier(database)} IS ${client.escapeLiteral(note)}`);
}

async function userTables(target: ResolvedTarget<'postgres'>, database: string, context: string): Promise<number> {
  return withClient(target, context, async (client) => {
    const { rows } = await client.query<{ tables: number }>(
      `SELECT count(*)::int AS tables FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`,
    );
    return rows[0]?.tables ?? 0;
  }, database);
}

/** Drops `database` if it exists, ending its sessions: the one DROP DATABASE golive runs. */
export async function forceDropDatabase(client: pg.Client, database: string): Promise<void> {
  await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(database)} WITH (FORCE)`);
}

/** A restore that cannot succeed leaves no half-filled database behind to block the next run. */
async function dropOwnDatabase(target: ResolvedTarget<'postgres'>, database: string, context: string): Promise<void> {
  await withClient(target, context, (client) => forceDropDatabase(client, database));
}

/** Creates the database for this attempt; returns 'done' when an earlier attempt finished. */
async function prepareDatabase(client: pg.Client, database: string, key: string): Promise<RestoreState> {
  const state = await restoreState(client, database, key);
  if (state === 'done' || state === 'foreign') return state;
  if (state === 'started') await forceDropDatabase(client, database);
  await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)} TEMPLATE template0`);
  await markDatabase(client, database, marker(key, 'started'));
  return 'absent';
}
