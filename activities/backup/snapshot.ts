import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type pg from 'pg';
import type { BackupManifest, TableFingerprint } from '../../definitions/backup-manifest.ts';
import { HEARTBEAT_SCHEMA, HEARTBEAT_TABLE, NEWEST_HEARTBEAT_SQL } from '../../definitions/heartbeat.ts';
import { backupKeys } from '../../backups/keys.ts';
import type { BackupStore } from '../../backups/store.ts';
import type { ResolvedTarget } from '../call.ts';
import { startTool } from '../postgres/pg-tool.ts';
import { libpqEnvironment, rethrowPg, withClient } from '../postgres/client.ts';
import { fingerprintTables, listUserTables, prepareSession, rethrowQuery } from '../postgres/fingerprint.ts';
import type { ActionDeps } from '../types.ts';

export interface SnapshotBackup {
  deps: ActionDeps;
  source: ResolvedTarget<'postgres'>;
  store: BackupStore;
  service: string;
  backupId: string;
  sampleRows: number;
  /** Starts every error message. */
  context: string;
}

/** The manifest fields a snapshot backup measures; the caller adds who asked for it. */
export type TakenBackup = Omit<BackupManifest, 'format' | 'service' | 'backupId' | 'source' | 'runId' | 'sampleRows'>;

interface Snapshot {
  snapshot: string;
  at: Date;
  version: string;
  database: string;
  heartbeat: boolean;
}

/**
 * Exports a snapshot from a REPEATABLE READ transaction, streams `pg_dump --snapshot` of it into
 * the store while counting and fingerprinting the same snapshot in that transaction, and keeps
 * the exporting transaction open until both are done. A dump left behind by a failure is
 * deleted; nothing is visible as a backup until the caller writes the manifest.
 */
export async function takeSnapshotBackup(job: SnapshotBackup): Promise<TakenBackup> {
  const { source, store, context } = job;
  const startedAt = new Date().toISOString();
  const dumpKey = backupKeys(job.service, job.backupId).dump;
  const sql = <R extends pg.QueryResultRow>(client: pg.Client, text: string, params: unknown[] = []) =>
    client.query<R>(text, params).catch((error: unknown) => rethrowPg(error, context, 'DumpFailed'));
  return withClient(source, context, async (client) => {
    await sql(client, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await prepareSession(client).catch((error: unknown) => rethrowPg(error, context, 'DumpFailed'));
    const { rows } = await sql<Snapshot>(
      client,
      `SELECT pg_export_snapshot() AS snapshot, clock_timestamp() AS at, current_setting('server_version') AS version,
              current_database() AS database, to_regclass($1) IS NOT NULL AS heartbeat`,
      [`${HEARTBEAT_SCHEMA}.${HEARTBEAT_TABLE}`],
    );
    const snapshot = rows[0];
    if (snapshot === undefined) throw new Error(`${context}: pg_export_snapshot() returned no row`);
    const stopDump = new AbortController();
    const dumping = dumpToStore(job, dumpKey, snapshot.snapshot, stopDump.signal);
    const counting = inventory(job, client, snapshot).catch((error: unknown) => {
      stopDump.abort();
      throw error;
    });
    const [dumped, counted] = await Promise.allSettled([dumping, counting]);
    if (counted.status === 'rejected' || dumped.status === 'rejected') await store.remove([dumpKey]).catch(() => {});
    // A failed count stops the dump, so its reason is the one to report.
    if (counted.status === 'rejected') throw counted.reason;
    if (dumped.status === 'rejected') throw dumped.reason;
    await sql(client, 'COMMIT');
    return {
      database: snapshot.database,
      startedAt,
      finishedAt: new Date().toISOString(),
      snapshotAt: snapshot.at.toISOString(),
      dumpKey,
      ...dumped.value,
      serverVersion: snapshot.version,
      tables: counted.value.tables,
      ...(counted.value.newestHeartbeat ? { newestHeartbeat: counted.value.newestHeartbeat } : {}),
    };
  });
}

/** Row counts and fingerprints of every user table, and the newest heartbeat, all in the snapshot. */
async function inventory(job: SnapshotBackup, client: pg.Client, snapshot: Snapshot): Promise<{ tables: TableFingerprint[]; newestHeartbeat?: string }> {
  const { context, sampleRows } = job;
  try {
    const tables = await listUserTables(client);
    // One session: counting is far quicker than pg_dump's compression, so more would only take CPU from the dump.
    const fingerprints = await fingerprintTables([client], tables, sampleRows);
    if (!snapshot.heartbeat) return { tables: fingerprints };
    const { rows } = await client.query<{ newest: Date | null }>(NEWEST_HEARTBEAT_SQL);
    const newest = rows[0]?.newest;
    return { tables: fingerprints, ...(newest ? { newestHeartbeat: newest.toISOString() } : {}) };
  } catch (error) {
    return rethrowQuery(error, context, 'DumpFailed');
  }
}

/** sha256 and byte count of what passes through; it ends only once `producer` has succeeded. */
function digestStream(producer: Promise<void>) {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      producer.then(() => done(), (error: unknown) => done(error instanceof Error ? error : new Error(String(error))));
    },
  });
  return { stream, result: () => ({ bytes, sha256: hash.digest('hex') }) };
}

/** pg_dump -Fc of the snapshot, piped through sha256 straight into the store: no local file. */
async function dumpToStore(job: SnapshotBackup, key: string, snapshot: string, signal: AbortSignal) {
  const tool = startTool(job.deps, {
    tool: 'pg_dump',
    args: ['--format=custom', '--no-password', `--snapshot=${snapshot}`],
    env: libpqEnvironment(job.source),
    context: job.context,
    type: 'DumpFailed',
    stdout: true,
    signal,
  });
  const digest = digestStream(tool.finished);
  if (tool.stdout === null) throw new Error(`${job.context}: pg_dump started without a stdout pipe`);
  tool.stdout.once('error', (error) => digest.stream.destroy(error));
  tool.stdout.pipe(digest.stream);
  let stoppedForStore = false;
  const writing = job.store.write(key, digest.stream).catch((error: unknown) => {
    stoppedForStore = tool.stop();
    throw error;
  });
  const [ran, wrote] = await Promise.allSettled([tool.finished, writing]);
  if (ran.status === 'rejected' && !stoppedForStore) throw ran.reason;
  if (wrote.status === 'rejected') throw wrote.reason;
  return digest.result();
}
