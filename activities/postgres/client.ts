import pg from 'pg';
import { businessFailure, rethrow, type FailureType } from '../../definitions/failures.ts';
import type { ResolvedTarget } from '../call.ts';

/** SQLSTATE classes worth a retry: connection, rollback (serialization), resources, shutdown, system. */
const TRANSIENT_SQLSTATE_CLASSES = new Set(['08', '40', '53', '57', '58']);

/** Bad login (28), no such database (3D), SQL the server rejects: syntax, missing object, no privilege (42). */
const PERMANENT_SQLSTATE_CLASSES = new Set(['28', '3D', '42']);

function sqlState(error: unknown): string | undefined {
  return error instanceof pg.DatabaseError ? error.code : undefined;
}

/** The SQLSTATE of a pg error, or of the pg error it wraps (rethrowPg's failures keep it as `cause`). */
export function wrappedSqlState(error: unknown): string | undefined {
  const state = sqlState(error);
  if (state !== undefined || !(error instanceof Error) || error.cause === error) return state;
  return wrappedSqlState(error.cause);
}

/**
 * The SQLSTATE of an error that waiting will not fix (classes 28, 3D and 42), or undefined.
 * `except` names codes the caller expects to clear up, such as 42P01 while a table is still
 * being restored.
 */
export function permanentSqlState(error: unknown, except: readonly string[] = []): string | undefined {
  const state = wrappedSqlState(error);
  if (state === undefined || except.includes(state)) return undefined;
  return PERMANENT_SQLSTATE_CLASSES.has(state.slice(0, 2)) ? state : undefined;
}

/** Rethrows a pg error with context: transient ones plainly (Temporal retries), the rest as `type`. */
export function rethrowPg(error: unknown, context: string, type: FailureType): never {
  const state = sqlState(error);
  const message = error instanceof Error ? error.message : String(error);
  if (state !== undefined && TRANSIENT_SQLSTATE_CLASSES.has(state.slice(0, 2))) {
    throw new Error(`${context}: ${message} (SQLSTATE ${state})`, { cause: error });
  }
  if (/Connection terminated|timeout expired/i.test(message)) throw new Error(`${context}: ${message}`, { cause: error });
  if (state !== undefined) throw businessFailure(`${context}: ${message} (SQLSTATE ${state})`, type, error);
  return rethrow(error, context, type);
}

function checkedUrl(target: ResolvedTarget<'postgres'>): URL {
  let url: URL;
  try {
    url = new URL(target.spec.url);
  } catch {
    throw businessFailure(`target ${target.name}: url is not a postgres:// URL`, 'InvalidTarget');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw businessFailure(`target ${target.name}: url must start with postgres:// (found ${url.protocol}//)`, 'InvalidTarget');
  }
  return url;
}

function pathDatabase(url: URL): string {
  return decodeURIComponent(url.pathname.replace(/^\//, ''));
}

/** The database the target's URL names (empty when it names none). */
export function urlDatabase(target: ResolvedTarget<'postgres'>): string {
  return pathDatabase(checkedUrl(target));
}

/** Runs `work` with a connected client to the target (or another database on its server). */
export async function withClient<T>(
  target: ResolvedTarget<'postgres'>,
  context: string,
  work: (client: pg.Client) => Promise<T>,
  database?: string,
): Promise<T> {
  const url = checkedUrl(target);
  if (database !== undefined) url.pathname = `/${encodeURIComponent(database)}`;
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    rethrowPg(error, `${context}: cannot connect to ${target.name}`, 'QueryFailed');
  }
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

const QUERY_PARAMETERS = { sslmode: 'PGSSLMODE', sslrootcert: 'PGSSLROOTCERT', sslcert: 'PGSSLCERT', sslkey: 'PGSSLKEY', host: 'PGHOST', application_name: 'PGAPPNAME' } as const;

/**
 * libpq environment variables for the target's URL, so pg_dump and pg_restore never see a
 * password on their command line. `database` overrides the URL's database.
 */
export function libpqEnvironment(target: ResolvedTarget<'postgres'>, database?: string): Record<string, string> {
  const url = checkedUrl(target);
  const env: Record<string, string> = { PGCONNECT_TIMEOUT: '10' };
  if (url.hostname) env.PGHOST = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (url.port) env.PGPORT = url.port;
  if (url.username) env.PGUSER = decodeURIComponent(url.username);
  if (url.password) env.PGPASSWORD = decodeURIComponent(url.password);
  const named = database ?? pathDatabase(url);
  if (named) env.PGDATABASE = named;
  for (const [parameter, variable] of Object.entries(QUERY_PARAMETERS)) {
    const value = url.searchParams.get(parameter);
    if (value !== null) env[variable] = value;
  }
  return env;
}

/** A value that survives JSON: timestamps as ISO text, bytea as \x hex, the rest as pg gave it. */
export function jsonSafe(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, jsonSafe(inner)]));
  }
  return value;
}
