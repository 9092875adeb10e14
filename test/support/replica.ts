import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type PostgresCluster } from '../../stack/postgres.ts';
import { run } from '../../stack/process.ts';

/** A primary and a streaming standby of it, each its own throwaway cluster. */
export interface ReplicaPair {
  primary: PostgresCluster;
  standby: PostgresCluster;
  stop(): Promise<void>;
}

const isRoot = () => process.getuid?.() === 0;

/** pg_basebackup must write files the `postgres` user owns when we are root (see RECIPES.md). */
async function asPostgres(binary: string, args: string[]): Promise<void> {
  const [command, commandArgs] = isRoot() ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
  await run(command, commandArgs, { timeout: 60_000 });
}

async function postgresOwnedDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (isRoot()) {
    const [{ stdout: uid }, { stdout: gid }] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    await chown(dir, Number(uid.trim()), Number(gid.trim()));
  }
  await chmod(dir, 0o700);
}

/** Starts a primary, clones it with `pg_basebackup -R -X stream`, and starts the clone as a hot standby. */
export async function startReplicaPair(pgBin: string): Promise<ReplicaPair> {
  const root = await mkdtemp(join(tmpdir(), 'golive-replica-'));
  await chmod(root, 0o755);
  const primary = await startPostgres({ pgBin, dataDir: join(root, 'primary'), durable: false });
  const stopAll = async (clusters: PostgresCluster[]) => {
    await Promise.allSettled(clusters.map((cluster) => cluster.stop()));
    await rm(root, { recursive: true, force: true });
  };
  try {
    const standbyDir = join(root, 'standby');
    await postgresOwnedDir(standbyDir);
    await asPostgres(join(pgBin, 'pg_basebackup'), ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', standbyDir, '-R', '-X', 'stream', '-c', 'fast']);
    const standby = await startPostgres({ pgBin, dataDir: standbyDir, durable: false });
    return { primary, standby, stop: () => stopAll([standby, primary]) };
  } catch (error) {
    await stopAll([primary]);
    throw error;
  }
}
