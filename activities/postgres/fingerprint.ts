import { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';
import type { TableFingerprint } from '../../definitions/backup-manifest.ts';
import type { ResolvedTarget } from '../call.ts';
import type { FailureType } from '../../definitions/failures.ts';
import { rethrowPg, withClient } from './client.ts';

/**
 * Row counts and sample fingerprints of user tables. backup.create takes them inside the dump's
 * snapshot and drill.verify takes them again on the restored copy: both go through this file,
 * so the two always agree on what a fingerprint is.
 */

export interface UserTable {
  schema: string;
  name: string;
  /** Primary key columns in key order; empty when the table has none. */
  key: string[];
}

/** Tables pg_dump dumps the data of: ordinary and partitioned (not partitions), outside system schemas and extensions. Largest first. */
const USER_TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS name,
  coalesce((
    SELECT array_agg(a.attname::text ORDER BY k.position)
    FROM pg_index i
    CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
    WHERE i.indrelid = c.oid AND i.indisprimary
  ), '{}') AS key
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY c.relpages DESC, n.nspname, c.relname`;

/**
 * Output settings that make a row's text the same on every server and session (a timestamptz
 * prints in UTC, floats print exactly, bytea as hex), and no timeouts, as pg_dump sets them: a
 * count of a large table must not be cut off by a server default.
 */
const SESSION_SQL = `SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 1;
  SET bytea_output = 'hex'; SET statement_timeout = 0; SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0`;

export async function listUserTables(client: pg.Client): Promise<UserTable[]> {
  const { rows } = await client.query<UserTable>(USER_TABLES_SQL);
  return rows;
}

/** Prepares a session for fingerprintTable; call once per connection (inside its transaction is fine). */
export async function prepareSession(client: pg.Client): Promise<void> {
  await client.query(SESSION_SQL);
}

export const qualifiedName = (table: { schema: string; name: string }) => `${table.schema}.${table.name}`;

/**
 * The exact row count, and md5 over the text of the first `sampleRows` rows, one per line, in
 * primary key order (by the row's text in byte order when there is no primary key).
 */
export async function fingerprintTable(client: pg.Client, table: UserTable, sampleRows: number): Promise<TableFingerprint> {
  const relation = `${client.escapeIdentifier(table.schema)}.${client.escapeIdentifier(table.name)}`;
  // ROW(alias.*) is the whole row even when the table has a column named like the alias.
  const line = 'ROW(golive_row.*)::text';
  const order = table.key.length > 0 ? table.key.map((column) => `golive_row.${client.escapeIdentifier(column)}`).join(', ') : `${line} COLLATE "C"`;
  const counted = await client.query<{ rows: string }>(`SELECT count(*) AS rows FROM ${relation}`);
  const sampled = await client.query<{ rows: number; md5: string }>(
    `SELECT count(*)::int AS rows, md5(coalesce(string_agg(sample.line, E'\\n' ORDER BY sample.position), '')) AS md5
     FROM (SELECT ${line} AS line, row_number() OVER (ORDER BY ${order}) AS position
           FROM ${relation} golive_row ORDER BY ${order} LIMIT ${Math.trunc(sampleRows)}) sample`,
  );
  const sample = sampled.rows[0] ?? { rows: 0, md5: '' };
  return { schema: table.schema, name: table.name, rows: Number(counted.rows[0]?.rows ?? 0), sample: { rows: sample.rows, md5: sample.md5 } };
}

/**
 * Fingerprints `tables` over the given sessions at once (each prepared with prepareSession),
 * largest tables first; results in schema and name order.
 */
export async function fingerprintTables(sessions: pg.Client[], tables: UserTable[], sampleRows: number): Promise<TableFingerprint[]> {
  const queue = [...tables];
  const results: TableFingerprint[] = [];
  const drain = async (client: pg.Client) => {
    for (let table = queue.shift(); table !== undefined; table = queue.shift()) {
      results.push(await fingerprintTable(client, table, sampleRows));
    }
  };
  await Promise.all(sessions.map(drain));
  return results.sort((left, right) => left.schema.localeCompare(right.schema) || left.name.localeCompare(right.name));
}

/** Connections a fingerprint pass uses at most (the caller's own included). */
export const FINGERPRINT_SESSIONS = 4;

export interface SessionOptions {
  /** Another database on the target's server. */
  database?: string;
  /** Statements each session runs first, like BEGIN and SET TRANSACTION SNAPSHOT. */
  begin?: string[];
}

/** Runs `work` with `count` more connections to the target, each begun and prepared with prepareSession. */
export function withSessions<T>(
  target: ResolvedTarget<'postgres'>,
  context: string,
  count: number,
  options: SessionOptions,
  work: (sessions: pg.Client[]) => Promise<T>,
): Promise<T> {
  if (count <= 0) return work([]);
  return withClient(target, context, async (client) => {
    for (const statement of options.begin ?? []) await client.query(statement);
    await prepareSession(client);
    return withSessions(target, context, count - 1, options, (rest) => work([client, ...rest]));
  }, options.database);
}

/** Like rethrowPg, for errors that may already carry `context` (a failed connect of withSessions). */
export function rethrowQuery(error: unknown, context: string, type: FailureType): never {
  if (error instanceof ApplicationFailure || (error instanceof Error && error.message.startsWith(context))) throw error;
  return rethrowPg(error, context, type);
}
