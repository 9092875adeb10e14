import type pg from 'pg';
import type { BackupManifest, TableFingerprint } from '../../definitions/backup-manifest.ts';
import { HEARTBEAT_SCHEMA, HEARTBEAT_TABLE, NEWEST_HEARTBEAT_SQL } from '../../definitions/heartbeat.ts';
import { readManifest } from '../../backups/manifests.ts';
import { withBackupStore } from '../../backups/store.ts';
import { referencedStore } from '../backup/targets.ts';
import { stepTarget, type ActionCall, type ResolvedTarget } from '../call.ts';
import { withHeartbeats } from '../context.ts';
import { businessFailure } from '../../definitions/failures.ts';
import { rethrowPg, withClient } from '../postgres/client.ts';
import { FINGERPRINT_SESSIONS, fingerprintTables, listUserTables, prepareSession, qualifiedName, rethrowQuery, withSessions } from '../postgres/fingerprint.ts';

/**
 * Checks a restored copy against its backup's manifest: every table there, the same row
 * counts, the same sample fingerprints. All problems are collected and reported together.
 * Then reads the newest committed timestamp in the copy: the newest heartbeat when the source
 * had golive's heartbeat table, else the backup's snapshot time. Both are reported, so the
 * drill's measurement can tell a stopped heartbeat writer (definitions/drill-measure.ts).
 */
export async function verify(call: ActionCall<'drill.verify'>) {
  const server = stepTarget(call, 'postgres');
  const { service, backupId, database } = call.input;
  const manifest = await withBackupStore(referencedStore(call, call.input.store), call.env, (store) => readManifest(store, service, backupId));
  const context = `drill.verify of ${database} on ${server.name} against backup ${backupId} of ${service}`;
  const checking = withClient(server, context, async (client) => {
    const found = await fingerprintCopy(server, client, manifest, database, context);
    const problems = compare(manifest.tables, found);
    if (problems.length > 0) {
      const listed = problems.map((problem, index) => `${index + 1}) ${problem}`).join('; ');
      const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
      throw businessFailure(`restored database ${database} on ${server.name} does not match backup ${backupId} of ${service}: ${count}: ${listed}`, 'VerificationFailed');
    }
    const newestHeartbeat = await newestHeartbeatIn(client).catch((error: unknown) => rethrowPg(error, context, 'QueryFailed'));
    return {
      backupId,
      tables: manifest.tables.length,
      rows: found.reduce((total, table) => total + table.rows, 0),
      sampledRows: found.reduce((total, table) => total + table.sample.rows, 0),
      newestCommit: newestHeartbeat ?? manifest.snapshotAt,
      rpoSource: newestHeartbeat === undefined ? ('snapshot' as const) : ('heartbeat' as const),
      newestHeartbeat: newestHeartbeat ?? null,
      snapshotAt: manifest.snapshotAt,
    };
  }, database);
  return withHeartbeats(checking, { backupId });
}

/** Fingerprints of the manifest's tables that exist in the copy, over a few connections at once. */
async function fingerprintCopy(server: ResolvedTarget<'postgres'>, client: pg.Client, manifest: BackupManifest, database: string, context: string) {
  try {
    await prepareSession(client);
    const present = new Map((await listUserTables(client)).map((table) => [qualifiedName(table), table]));
    const tables = manifest.tables.flatMap((table) => present.get(qualifiedName(table)) ?? []);
    const extra = Math.min(FINGERPRINT_SESSIONS, tables.length) - 1;
    return await withSessions(server, context, extra, { database }, (sessions) => fingerprintTables([client, ...sessions], tables, manifest.sampleRows));
  } catch (error) {
    return rethrowQuery(error, context, 'QueryFailed');
  }
}

function compare(expected: TableFingerprint[], found: TableFingerprint[]): string[] {
  const restored = new Map(found.map((table) => [qualifiedName(table), table]));
  return expected.flatMap((table) => {
    const name = qualifiedName(table);
    const copy = restored.get(name);
    if (copy === undefined) {
      return [`table ${name} is missing from the restored database (the backup's manifest lists it with ${table.rows} rows)`];
    }
    const problems: string[] = [];
    if (copy.rows !== table.rows) problems.push(`table ${name} has ${copy.rows} rows in the restored database, the backup's manifest says ${table.rows}`);
    if (copy.sample.rows !== table.sample.rows || copy.sample.md5 !== table.sample.md5) {
      problems.push(
        `the first ${table.sample.rows} rows of table ${name} differ from the backup's ` +
          `(sample md5 ${copy.sample.md5.slice(0, 12)}… over ${copy.sample.rows} rows, manifest ${table.sample.md5.slice(0, 12)}… over ${table.sample.rows})`,
      );
    }
    return problems;
  });
}

async function newestHeartbeatIn(client: pg.Client): Promise<string | undefined> {
  const { rows: exists } = await client.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [`${HEARTBEAT_SCHEMA}.${HEARTBEAT_TABLE}`]);
  if (!exists[0]?.found) return undefined;
  const { rows } = await client.query<{ newest: Date | null }>(NEWEST_HEARTBEAT_SQL);
  return rows[0]?.newest?.toISOString();
}
