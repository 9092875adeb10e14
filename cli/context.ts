import { userInfo } from 'node:os';
import { InvalidArgumentError } from 'commander';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { loadConfig, type Config } from '../config/env.ts';
import type { RoleDirectory } from '../definitions/roles.ts';
import { connectClient, createPool, resolveEndpoints } from '../runtime/connections.ts';
import { createPgRunStore, type RunStore } from '../store/runs.ts';
import type { TemporalReads } from '../runtime/temporal-reads.ts';
import { StackUnavailable } from '../runtime/errors.ts';

interface Connected {
  config: Config;
  pool: pg.Pool;
  store: RunStore;
}

export interface CliContext extends Connected {
  client: Client;
}

/** For commands that only read: a workflow query and the server version need no Temporal client. */
export interface ReadContext extends Connected {
  reads: TemporalReads;
}

/** Opens Temporal (as `open` does) and golive's Postgres for one command, then closes both. */
async function withConnections<C, T>(
  open: (config: Config, address: string) => Promise<{ temporal: C; close: () => unknown }>,
  work: (context: Connected & { temporal: C }) => Promise<T>,
): Promise<T> {
  const config = loadConfig();
  const endpoints = resolveEndpoints(config);
  const { temporal, close } = await open(config, endpoints.temporalAddress);
  const pool = createPool(endpoints.databaseUrl);
  try {
    return await work({ config, pool, store: createPgRunStore(pool), temporal });
  } catch (error) {
    throw asUnreachable(error, "golive's Postgres");
  } finally {
    await Promise.allSettled([close(), pool.end()]);
  }
}

/** Connects to the configured (or running `golive dev`) stack for one command, then disconnects. */
export function withStack<T>(work: (context: CliContext) => Promise<T>): Promise<T> {
  return withConnections(async (config, address) => {
    const client = await connectClient(config, address);
    return { temporal: client, close: () => client.connection.close() };
  }, ({ temporal, ...rest }) => work({ ...rest, client: temporal }));
}

/** golive's Postgres alone, for commands that read only golive's records (runs, timeline, history). */
export function withStore<T>(work: (context: Connected) => Promise<T>): Promise<T> {
  return withConnections(async () => ({ temporal: undefined, close: () => undefined }), work);
}

/** Like withStack, with Temporal's quick reads instead of its client: what `status`, `wait` and `--version` use. */
export function withReads<T>(work: (context: ReadContext) => Promise<T>): Promise<T> {
  return withConnections(async (config, address) => {
    const reads = (await import('../runtime/temporal-reads.ts')).connectTemporalReads(config, address);
    return { temporal: reads, close: () => reads.close() };
  }, ({ temporal, ...rest }) => work({ ...rest, reads: temporal }));
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'EAI_AGAIN']);

/** A failure to connect, as StackUnavailable (exit 3); anything else unchanged. */
export function asUnreachable(error: unknown, what: string): unknown {
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  const timedOut = error instanceof Error && /timeout exceeded when trying to connect|Connection terminated unexpectedly/.test(error.message);
  if (!NETWORK_CODES.has(String(code)) && !timedOut) return error;
  return new StackUnavailable(`cannot reach ${what}: ${(error as Error).message}`);
}

/** Who holds which role, as this shell sees it: built as the worker builds it (GOLIVE_ROLES, grants, Slack user groups). The worker checks again. */
export async function roleDirectory(config: Config, pool: pg.Pool): Promise<RoleDirectory> {
  const { createConfiguredRoleDirectory } = await import('../runtime/roles.ts');
  const { createPgIdentityStore } = await import('../store/identity.ts');
  // A user group Slack did not answer for gives no role here either: say so, or the refusal that follows would puzzle.
  const warn = (_fields: object, message: string) => console.error(`golive: warning: ${message}`);
  return createConfiguredRoleDirectory(config, createPgIdentityStore(pool), { warn });
}

/** The acting user: --as, else GOLIVE_USER, else the login name. */
export function actingUser(as: string | undefined, config: Config): string {
  return as ?? config.user ?? userInfo().username;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints a read command's answer: JSON with --json, else the text a person reads. */
export function print<T>(value: T, json: boolean | undefined, format: (value: T) => string): void {
  if (json) printJson(value);
  else console.log(format(value));
}

/** Left-aligned columns separated by two spaces. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n');
}

/** Commander parser of a count flag such as --limit: a whole number of at least 1. */
export function wholeNumber(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new InvalidArgumentError(`give a whole number of at least 1, not "${text}"`);
  return Number(text);
}
