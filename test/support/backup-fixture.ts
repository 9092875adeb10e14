/**
 * A source database with a heartbeat table and tables of every key shape, a plain one without,
 * a backup folder and a moto S3 bucket: what the backup and drill action tests work on.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { awsClientConfig } from '../../config/aws.ts';
import { openBackupStore } from '../../backups/store.ts';
import { parseInput } from '../../activities/call.ts';
import type { ActionDeps } from '../../activities/types.ts';
import type { BackupCatalog } from '../../store/protection.ts';
import type { ActionName } from '../../definitions/actions.ts';
import type { BackupEntry } from '../../definitions/backup-manifest.ts';
import { HEARTBEAT_DDL } from '../../definitions/heartbeat.ts';
import type { Target } from '../../definitions/targets.ts';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import { actionRequest, type RequestOptions } from './actions.ts';
import { createTestDatabase, uniqueId } from './db.ts';
import { startMoto, type MotoServer } from './moto.ts';
import { runSql } from './sql.ts';
export const run = promisify(execFile);
export const pgBin = requireTool(loadToolchain({ pgBin: process.env.GOLIVE_PG_BIN }), 'pgBin');

/** golive's backup catalog as the actions see it, keeping what they reported. */
export class RecordedCatalog implements BackupCatalog {
  entries: BackupEntry[] = [];
  prunes: Array<{ service: string; ids: string[] }> = [];
  async recorded(entry: BackupEntry) {
    this.entries.push(entry);
  }
  async pruned(service: string, ids: string[]) {
    this.prunes.push({ service, ids });
  }
}

export let source: { url: string; drop(): Promise<void> };
export let plain: { url: string; drop(): Promise<void> };
let moto: MotoServer;
export let folder: string;
export let catalog: RecordedCatalog;
export let deps: ActionDeps;
const made: string[] = [];
export const db = (url: string): { name: string; spec: Target } => ({ name: 'orders-db', spec: { type: 'postgres', url } });
export const server = (): { name: string; spec: Target } => ({ name: 'drill-db', spec: { type: 'postgres', url: inject('postgresUrl') } });
export const local = (): Target => ({ type: 'filesystem', path: join(folder, 'store') });
export const offsite: Target = { type: 's3', bucket: 'golive-drills', prefix: 'backups' };
export const localStore = () => openBackupStore({ name: 'vault', spec: { type: 'filesystem', path: join(folder, 'store') } }, {});

export function call<A extends ActionName>(action: A, input: Record<string, unknown>, options: RequestOptions) {
  return parseInput(action, actionRequest(action, input, options), deps.env);
}

export const backupInput = (backupId: string, extra: Record<string, unknown> = {}) => ({ store: 'vault', service: 'orders', backupId, sampleRows: 100, ...extra });
export const withVault = (target: { name: string; spec: Target }, vault: Target = local()): RequestOptions => ({ target, targets: { vault } });
export const scratch = () => {
  const name = uniqueId('drill').replace('-', '_');
  made.push(name);
  return name;
};

/** Registers the fixture's set-up and clean-up with the calling test file. */
export function useBackupFixture(): void {
  beforeAll(async () => {
    [source, plain] = await Promise.all([createTestDatabase('backup_src'), createTestDatabase('backup_plain')]);
    folder = await mkdtemp(join(tmpdir(), 'golive-backups-'));
    moto = await startMoto(requireTool(loadToolchain(), 'motoServer'));
    const s3 = new S3Client({ ...awsClientConfig(moto.env, undefined), forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'golive-drills' }));
    s3.destroy();
    catalog = new RecordedCatalog();
    deps = { env: moto.env, pgBin, backups: catalog };
    await runSql(source.url, `${HEARTBEAT_DDL};
      CREATE TABLE payments (id bigint PRIMARY KEY, amount numeric(12,2) NOT NULL, paid_at timestamptz NOT NULL, note text);
      CREATE TABLE customers (region text, id int, name text, PRIMARY KEY (region, id));
      CREATE TABLE events (kind text, payload jsonb, t int);
      INSERT INTO payments SELECT g, g * 1.25, '2024-05-01T00:00:00Z'::timestamptz + g * interval '1 second', 'p' || g FROM generate_series(1, 1200) g;
      INSERT INTO customers SELECT CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, g, 'customer ' || g FROM generate_series(1, 300) g;
      INSERT INTO events (kind, payload, t) SELECT 'click', jsonb_build_object('n', g), g FROM generate_series(1, 50) g;
      INSERT INTO golive_heartbeat (beat_at) SELECT '2024-05-01T12:00:00Z'::timestamptz + g * interval '1 second' FROM generate_series(1, 30) g;`);
    await runSql(plain.url, 'CREATE TABLE ledger (id int PRIMARY KEY, entry text); INSERT INTO ledger SELECT g, md5(g::text) FROM generate_series(1, 10) g;');
  });

  afterAll(async () => {
    for (const name of made) await runSql(inject('postgresUrl'), `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    await Promise.all([source?.drop(), plain?.drop()]);
    await moto?.stop();
    await rm(folder, { recursive: true, force: true });
  });
}
