import { userInfo } from 'node:os';
import { InvalidArgumentError } from 'commander';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { loadConfig, type Config } from '../config/env.ts';
import { connectClient, createPool, resolveEndpoints } from '../runtime/connections.ts';
import { createPgRunStore, type RunStore } from '../store/runs.ts';
import { StackUnavailable } from '../runtime/errors.ts';

export interface CliContext {
  config: Config;
  client: Client;
  pool: pg.Pool;
  store: RunStore;
}

/** Connects to the configured (or running `golive dev`) stack for one command, then disconnects. */
export async function withStack<T>(work: (context: CliContext) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const endpoints = resolveEndpoints(config);
  const client = await connectClient(config, endpoints.temporalAddress);
  const pool = createPool(endpoints.databaseUrl);
  try {
    return await work({ config, client, pool, store: createPgRunStore(pool) });
  } catch (error) {
    throw asUnreachable(error, "golive's Postgres");
  } finally {
    await Promise.allSettled([client.connection.close(), pool.end()]);
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'EAI_AGAIN']);

/** A failure to connect, as StackUnavailable (exit 3); anything else unchanged. */
export function asUnreachable(error: unknown, what: string): unknown {
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  const timedOut = error instanceof Error && /timeout exceeded when trying to connect|Connection terminated unexpectedly/.test(error.message);
  if (!NETWORK_CODES.has(String(code)) && !timedOut) return error;
  return new StackUnavailable(`cannot reach ${what}: ${(error as Error).message}`);
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
