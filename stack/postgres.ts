import { existsSync } from 'node:fs';
import { chown, mkdir, readFile, appendFile, chmod } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { isRoot, placeDataDir, postgresUser } from './pg-data-dir.ts';
import { run, portOrFree, waitFor } from './process.ts';

/** A local Postgres cluster golive started (or found running) under a folder of its own. */
export interface PostgresCluster {
  /** Superuser URL of the `postgres` database. */
  url: string;
  port: number;
  dataDir: string;
  /** Set when the data is not in the folder asked for (see pg-data-dir.ts): why, in words. */
  relocated?: string;
  /** Stops the cluster when this process started it. */
  stop(): Promise<void>;
}

export interface PostgresOptions {
  pgBin: string;
  dataDir: string;
  port?: number;
  /** Tests trade durability for speed; the demo and `golive dev` never do. */
  durable?: boolean;
}

/**
 * initdb and pg_ctl refuse to run as root: run them as the `postgres` user then, from `/`
 * (the caller's folder may be one that user cannot enter; every path given is absolute).
 */
async function pgCommand(pgBin: string, tool: string, args: string[]): Promise<string> {
  const binary = resolve(pgBin, tool);
  const [command, commandArgs] = isRoot() ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
  try {
    const { stdout } = await run(command, commandArgs, { timeout: 120_000, cwd: isRoot() ? '/' : undefined });
    return stdout;
  } catch (error) {
    const detail = error as { stderr?: string; message: string };
    throw new Error(`${tool} ${args[0] ?? ''} failed: ${(detail.stderr || detail.message).trim()}`);
  }
}

/** An empty-or-new folder the postgres user owns, mode 700: what initdb and pg_basebackup want. */
export async function ownedDataDir(dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (isRoot()) {
    const { uid, gid } = await postgresUser();
    await chown(dataDir, uid, gid);
  }
  await chmod(dataDir, 0o700);
}

async function runningPort(dataDir: string): Promise<number | undefined> {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const [pid, , , port] = (await readFile(pidFile, 'utf8')).split('\n');
  try {
    process.kill(Number(pid), 0);
  } catch {
    return undefined;
  }
  return Number(port);
}

/**
 * Starts (initialising on first use) a cluster in `dataDir`; reuses one already running there.
 * As root, when the postgres user cannot reach `dataDir`, the cluster lives in a folder it can
 * and `relocated` says why (see pg-data-dir.ts).
 */
export async function startPostgres(options: PostgresOptions): Promise<PostgresCluster> {
  const { dataDir, relocated } = await placeDataDir(options.dataDir);
  const url = (port: number) => `postgres://postgres@127.0.0.1:${port}/postgres`;
  const already = await runningPort(dataDir);
  if (already !== undefined) return { url: url(already), port: already, dataDir, relocated, stop: async () => {} };

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    await ownedDataDir(dataDir);
    await pgCommand(options.pgBin, 'initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale']);
    const settings = [
      "listen_addresses = '127.0.0.1'",
      "unix_socket_directories = ''",
      'wal_level = replica',
      'max_wal_senders = 10',
      'hot_standby = on',
      ...(options.durable === false ? ['fsync = off', 'synchronous_commit = off', 'full_page_writes = off'] : []),
    ];
    await appendFile(join(dataDir, 'postgresql.conf'), `\n# golive\n${settings.join('\n')}\n`);
  }
  const port = await portOrFree(options.port);
  await pgCommand(options.pgBin, 'pg_ctl', ['-D', dataDir, '-l', join(dataDir, 'server.log'), '-o', `-p ${port}`, '-w', '-t', '60', 'start']);
  await waitFor(() => canConnect(url(port)), 30_000, `Postgres in ${dataDir} did not accept connections on port ${port}`);
  return {
    url: url(port),
    port,
    dataDir,
    relocated,
    stop: async () => {
      await pgCommand(options.pgBin, 'pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
    },
  };
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Creates database `name` unless it exists; returns its URL. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
