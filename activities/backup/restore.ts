import { readManifest } from '../../backups/manifests.ts';
import { withBackupStore } from '../../backups/store.ts';
import { referencedStore } from './targets.ts';
import { stepTarget, type ActionCall } from '../call.ts';
import { withHeartbeats } from '../context.ts';
import { startTool } from '../postgres/pg-tool.ts';
import { PG_RESTORE_ARGS, restoreOnce } from '../postgres/dump-restore.ts';
import { libpqEnvironment } from '../postgres/client.ts';
import type { ActionDeps } from '../types.ts';

/**
 * Restores a backup from its store into a new database on the target server, streaming the
 * dump into pg_restore's stdin. Same retry rules as postgres.restore: a retry redoes its own
 * half-finished restore, a failed restore drops its database, another database of that name
 * is never touched.
 */
export async function restoreBackup(deps: ActionDeps, call: ActionCall<'backup.restore'>) {
  const server = stepTarget(call, 'postgres');
  const { service, backupId, database } = call.input;
  return withBackupStore(referencedStore(call, call.input.store), call.env, async (store) => {
    const manifest = await readManifest(store, service, backupId);
    const context = `cannot restore backup ${backupId} of ${service} (${store.location(manifest.dumpKey)}) into ${database} on ${server.name}`;
    const restored = await restoreOnce({ target: server, database, key: call.request.idempotencyKey, context }, async () => {
      const dump = await store.read(manifest.dumpKey);
      const tool = startTool(deps, {
        tool: 'pg_restore',
        args: [...PG_RESTORE_ARGS, `--dbname=${database}`],
        env: libpqEnvironment(server, database),
        context,
        type: 'RestoreFailed',
        stdin: dump,
      });
      await withHeartbeats(tool.finished, { backupId });
    });
    return { database: restored.database, backupId, tables: restored.tables };
  });
}
