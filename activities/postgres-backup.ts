import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';
import { stepTarget, type ActionCall, type ResolvedTarget } from './call.ts';
import { cancellationSignal, withHeartbeats } from './context.ts';
import { businessFailure, type FailureType } from './failures.ts';
import { libpqEnvironment, rethrowPg, withClient } from './postgres-client.ts';
import type { ActionDeps } from './types.ts';

interface ToolRun {
  tool: 'pg_dump' | 'pg_restore';
  args: string[];
  env: Record<string, string>;
  context: string;
  type: FailureType;
}

/** Runs a Postgres client tool with connection settings in its environment, heartbeating meanwhile. */
function runTool(deps: ActionDeps, run: ToolRun): Promise<void> {
  const binary = join(deps.pgBin, run.tool);
  const finished = new Promise<void>((done, fail) => {
    const options = { env: { PATH: process.env.PATH ?? '', ...run.env }, maxBuffer: 16 * 1024 * 1024, signal: cancellationSignal() };
    execFile(binary, run.args, options, (error, _stdout, stderr) => {
      if (!error) return done();
      if (error.name === 'AbortError') return fail(new Error(`${run.context}: cancelled`, { cause: error }));
      if ('code' in error && error.code === 'ENOENT') {
        return fail(businessFailure(`${run.context}: ${run.tool} not found at ${binary}`, run.type));
      }
      const detail = stderr.trim().split('\n').slice(-5).join('\n') || error.message;
      fail(transientOutput(detail) ? new Error(`${run.context}: ${detail}`) : businessFailure(`${run.context}: ${detail}`, run.type));
    });
  });
  return withHeartbeats(finished);
}

function transientOutput(stderr: string): boolean {
  return /connection refused|could not connect|server closed the connection|timeout expired|the database system is (starting up|shutting down)/i.test(stderr);
}

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

type RestoreState = 'absent' | 'started' | 'done' | 'foreign';

const marker = (key: string, phase: 'started' | 'done') => `golive restore ${key} ${phase}`;

async function restoreState(client: pg.Client, database: string, key: string): Promise<RestoreState> {
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

/**
 * Restores a pg_dump -Fc file into a new database on the target's server. The database is
 * marked with the step's idempotency key: a retry drops its own half-restored database and
 * starts again, or reports a restore that already finished; any other database of that name
 * is left alone and the step fails.
 */
export async function restore(deps: ActionDeps, call: ActionCall<'postgres.restore'>) {
  const target = stepTarget(call, 'postgres');
  const { database } = call.input;
  const file = resolve(call.input.file);
  const context = `cannot restore ${call.input.file} into ${database} on ${target.name}`;
  if (!existsSync(file)) throw businessFailure(`${context}: the backup file does not exist`, 'BackupMissing');
  const key = call.request.idempotencyKey;
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
    const args = ['--no-owner', '--no-privileges', '--exit-on-error', '--no-password', `--dbname=${database}`, file];
    try {
      await runTool(deps, { tool: 'pg_restore', args, env: libpqEnvironment(target, database), context, type: 'RestoreFailed' });
    } catch (error) {
      if (error instanceof ApplicationFailure && error.nonRetryable) await dropOwnDatabase(target, database, context);
      throw error;
    }
    await withClient(target, context, (client) => markDatabase(client, database, marker(key, 'done')));
  }
  return { database, tables: await userTables(target, database, context) };
}

/** A restore that cannot succeed leaves no half-filled database behind to block the next run. */
async function dropOwnDatabase(target: ResolvedTarget<'postgres'>, database: string, context: string): Promise<void> {
  await withClient(target, context, (client) => client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(database)} WITH (FORCE)`));
}

/** Creates the database for this attempt; returns 'done' when an earlier attempt finished. */
async function prepareDatabase(client: pg.Client, database: string, key: string): Promise<RestoreState> {
  const state = await restoreState(client, database, key);
  if (state === 'done' || state === 'foreign') return state;
  const name = client.escapeIdentifier(database);
  if (state === 'started') await client.query(`DROP DATABASE ${name} WITH (FORCE)`);
  await client.query(`CREATE DATABASE ${name} TEMPLATE template0`);
  await markDatabase(client, database, marker(key, 'started'));
  return 'absent';
}
