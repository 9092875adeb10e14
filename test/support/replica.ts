import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStreamingPair, type StreamingPair } from '../../stack/replica.ts';

/**
 * A primary and a streaming standby of it, each its own throwaway cluster; `crashPrimary` stops
 * the primary at once, as a crash or a lost region would (`pg_ctl stop -m immediate`).
 */
export type ReplicaPair = StreamingPair;

/** Starts a primary, clones it with `pg_basebackup -R -X stream`, and starts the clone as a hot standby; stop() removes both. */
export async function startReplicaPair(pgBin: string): Promise<ReplicaPair> {
  const root = await mkdtemp(join(tmpdir(), 'golive-replica-'));
  await chmod(root, 0o755);
  try {
    const pair = await startStreamingPair({ pgBin, primaryDir: join(root, 'primary'), standbyDir: join(root, 'standby'), durable: false });
    const stop = async () => {
      // A test may have crashed the primary behind the pair's back: stopping what is left is enough.
      await pair.stop().catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    };
    return { ...pair, stop };
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}
