import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isRoot, placeDataDir } from './pg-data-dir.ts';
import { ownedDataDir, startPostgres, type PostgresCluster } from './postgres.ts';
import { run } from './process.ts';

/** A primary and a streaming hot standby of it, each its own local cluster with fresh data. */
export interface StreamingPair {
  primary: PostgresCluster;
  standby: PostgresCluster;
  /**
   * Stops the primary at once, as a crash or a lost region would (`pg_ctl stop -m immediate`):
   * no shutdown checkpoint, nothing more sent to the standby. Resolves with when it was gone.
   */
  crashPrimary(): Promise<Date>;
  /** Stops both clusters (a primary already crashed is skipped); their data stays on disk. */
  stop(): Promise<void>;
}

export interface StreamingPairOptions {
  pgBin: string;
  /** Where each cluster's data goes; whatever is there from an earlier start is removed first. */
  primaryDir: string;
  standbyDir: string;
  /** Tests trade durability for speed; a demo never does. */
  durable?: boolean;
  /** Runs on the primary before it is cloned (create the databases and tables the standby should have). */
  prepare?: (primary: PostgresCluster) => Promise<void>;
}

/**
 * Runs a Postgres tool as the `postgres` user when golive runs as root (Postgres refuses root,
 * and the files it writes must be that user's), from `/`: the caller's folder may be closed to it.
 */
async function asPostgres(pgBin: string, tool: string, args: string[]): Promise<void> {
  const binary = resolve(pgBin, tool);
  const [command, commandArgs] = isRoot() ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
  try {
    await run(command, commandArgs, { timeout: 120_000, cwd: isRoot() ? '/' : undefined });
  } catch (error) {
    const detail = error as { stderr?: string; message: string };
    throw new Error(`${tool} ${args.join(' ')} failed: ${(detail.stderr || detail.message).trim()}`, { cause: error });
  }
}

/**
 * Removes the cluster data for `wanted` (where it really lives, see pg-data-dir.ts), stopping
 * first a server an earlier start may have left running there. Returns that place.
 */
async function freshDataDir(pgBin: string, wanted: string): Promise<string> {
  const { dataDir } = await placeDataDir(wanted);
  if (existsSync(join(dataDir, 'postmaster.pid'))) {
    await asPostgres(pgBin, 'pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
  }
  await rm(dataDir, { recursive: true, force: true });
  return dataDir;
}

/**
 * Starts a primary in fresh data, lets `prepare` set it up, clones it with
 * `pg_basebackup -R -X stream` and starts the clone as a hot standby streaming from it.
 * Both listen on free ports of 127.0.0.1.
 */
export async function startStreamingPair(options: StreamingPairOptions): Promise<StreamingPair> {
  const { pgBin, durable } = options;
  await freshDataDir(pgBin, options.primaryDir);
  await freshDataDir(pgBin, options.standbyDir);
  const primary = await startPostgres({ pgBin, dataDir: options.primaryDir, durable });
  let crashedAt: Date | undefined;
  const crashPrimary = async () => {
    await asPostgres(pgBin, 'pg_ctl', ['-D', primary.dataDir, '-m', 'immediate', '-w', 'stop']);
    crashedAt ??= new Date();
    return crashedAt;
  };
  const stopPrimary = () => (crashedAt === undefined ? primary.stop() : Promise.resolve());
  try {
    await options.prepare?.(primary);
    const { dataDir: cloneDir } = await placeDataDir(options.standbyDir);
    await ownedDataDir(cloneDir);
    await asPostgres(pgBin, 'pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', cloneDir, '-R', '-X', 'stream', '-c', 'fast']);
    const standby = await startPostgres({ pgBin, dataDir: options.standbyDir, durable });
    const stop = async () => {
      const stopped = await Promise.allSettled([standby.stop(), stopPrimary()]);
      const failed = stopped.flatMap((result) => (result.status === 'rejected' ? [String(result.reason)] : []));
      if (failed.length > 0) throw new Error(`could not stop the replica pair: ${failed.join('; ')}`);
    };
    return { primary, standby, crashPrimary, stop };
  } catch (error) {
    await stopPrimary().catch(() => undefined);
    throw error;
  }
}
