import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createBackup, verifyChecksum } from '../../activities/backup/actions.ts';
import { readManifest, writeManifest } from '../../backups/manifests.ts';
import { restoreBackup } from '../../activities/backup/restore.ts';
import { verify } from '../../activities/drill/verify.ts';
import type { Target } from '../../definitions/targets.ts';
import { backupInput, call, db, deps, folder, local, localStore, offsite, pgBin, plain, run, scratch, server, source, useBackupFixture, withVault } from '../support/backup-fixture.ts';
import { databaseUrl, runSql } from '../support/sql.ts';

useBackupFixture();

/** The backup the restore tests start from. */
beforeAll(async () => {
  await createBackup(deps, call('backup.create', backupInput('first'), withVault(db(source.url))));
});

describe('backup.restore and drill.verify', () => {
  const restore = (backupId: string, database: string, vault: Target = local(), service = 'orders') =>
    restoreBackup(deps, call('backup.restore', { store: 'vault', service, backupId, database }, withVault(server(), vault)));
  const check = (backupId: string, database: string, vault: Target = local(), service = 'orders') =>
    verify(call('drill.verify', { store: 'vault', service, backupId, database }, withVault(server(), vault)));

  it('restores a backup and verifies it, reading the newest commit from the heartbeat table', async () => {
    const database = scratch();
    expect(await restore('first', database)).toEqual({ database, backupId: 'first', tables: 4 });
    const result = await check('first', database);
    const store = localStore();
    const manifest = await readManifest(store, 'orders', 'first');
    expect(result).toEqual({
      backupId: 'first', tables: 4, rows: 1580, sampledRows: 100 + 50 + 30 + 100,
      newestCommit: '2024-05-01T12:00:30.000Z', newestHeartbeat: '2024-05-01T12:00:30.000Z', rpoSource: 'heartbeat', snapshotAt: manifest.snapshotAt,
    });
  });

  it('uses the snapshot time when the source has no heartbeat table', async () => {
    const taken = await createBackup(deps, call('backup.create', { ...backupInput('plain-1'), service: 'ledger' }, withVault(db(plain.url))));
    const database = scratch();
    await restore('plain-1', database, local(), 'ledger');
    expect(await check('plain-1', database, local(), 'ledger')).toMatchObject({ tables: 1, rows: 10, newestCommit: taken.snapshotAt, rpoSource: 'snapshot' });
  });

  it('a retry of the same restore reports the finished restore', async () => {
    const request = call('backup.restore', { store: 'vault', service: 'orders', backupId: 'first', database: scratch() }, withVault(server()));
    const first = await restoreBackup(deps, request);
    expect(await restoreBackup(deps, request)).toEqual(first);
  });

  it('fails listing every table whose rows changed in the copy', async () => {
    const database = scratch();
    await restore('first', database);
    await runSql(databaseUrl(inject('postgresUrl'), database), "DELETE FROM payments WHERE id > 1000; UPDATE customers SET name = 'changed' WHERE id = 2");
    const failing = check('first', database);
    await expect(failing).rejects.toMatchObject({ type: 'VerificationFailed', nonRetryable: true });
    const message = await failing.catch((error: Error) => error.message);
    expect(message).toMatch(new RegExp(`^restored database ${database} on drill-db does not match backup first of orders: 2 problems: `));
    expect(message).toContain("1) the first 100 rows of table public.customers differ from the backup's (sample md5 ");
    expect(message).toContain("2) table public.payments has 1000 rows in the restored database, the backup's manifest says 1200");
  });

  it('fails naming a table the backup tool left out', async () => {
    const store = localStore();
    const taken = await createBackup(deps, call('backup.create', backupInput('broken'), withVault(db(source.url))));
    const dumpFile = join(folder, 'store', 'orders', 'broken.dump');
    const env = { ...process.env, PGDATABASE: new URL(source.url).pathname.slice(1), PGHOST: new URL(source.url).hostname, PGPORT: new URL(source.url).port, PGUSER: new URL(source.url).username };
    await run(join(pgBin, 'pg_dump'), ['--format=custom', '--exclude-table=payments', `--file=${dumpFile}`], { env });
    const bytes = await readFile(dumpFile);
    const manifest = await readManifest(store, 'orders', 'broken');
    await writeManifest(store, { ...manifest, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    expect(taken.bytes).not.toBe(bytes.length);
    await verifyChecksum(call('backup.verify-checksum', { service: 'orders', backupId: 'broken' }, { target: { name: 'vault', spec: local() } }));
    const database = scratch();
    expect(await restore('broken', database)).toMatchObject({ tables: 3 });
    await expect(check('broken', database)).rejects.toMatchObject({
      type: 'VerificationFailed',
      message: `restored database ${database} on drill-db does not match backup broken of orders: 1 problem: 1) table public.payments is missing from the restored database (the backup's manifest lists it with 1200 rows)`,
    });
  });

  it('a dump pg_restore cannot read fails without retry and leaves no database behind', async () => {
    await createBackup(deps, call('backup.create', backupInput('garbage'), withVault(db(source.url))));
    await writeFile(join(folder, 'store', 'orders', 'garbage.dump'), 'this is not a pg_dump archive');
    const database = scratch();
    await expect(restore('garbage', database)).rejects.toMatchObject({
      type: 'RestoreFailed',
      nonRetryable: true,
      message: expect.stringContaining(`cannot restore backup garbage of orders (${join(folder, 'store', 'orders', 'garbage.dump')}) into ${database} on drill-db: pg_restore: error: input file does not appear to be a valid archive`),
    });
    const { rowCount } = await runSql(inject('postgresUrl'), 'SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    expect(rowCount).toBe(0);
  });

  it('backs up to S3, checks, restores and verifies from there', async () => {
    const taken = await createBackup(deps, call('backup.create', backupInput('s3-1'), withVault(db(source.url), offsite)));
    expect(taken).toMatchObject({ location: 's3://golive-drills/backups/orders/s3-1.dump', tables: 4 });
    expect(await verifyChecksum(call('backup.verify-checksum', { service: 'orders', backupId: 's3-1' }, { target: { name: 'vault', spec: offsite } }))).toMatchObject({ sha256: taken.sha256 });
    const database = scratch();
    await restore('s3-1', database, offsite);
    expect(await check('s3-1', database, offsite)).toMatchObject({ tables: 4, rows: 1580, rpoSource: 'heartbeat' });
  });
});
