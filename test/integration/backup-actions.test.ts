import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { createBackup, latestBackup, pruneBackups, verifyChecksum } from '../../activities/backup/actions.ts';
import { readManifest, writeManifest } from '../../backups/manifests.ts';
import { openBackupStore } from '../../backups/store.ts';
import type { Target } from '../../definitions/targets.ts';
import { backupInput, call, catalog, db, deps, folder, local, localStore, plain, source, useBackupFixture, withVault } from '../support/backup-fixture.ts';
import { runSql } from '../support/sql.ts';

useBackupFixture();

describe('backup.create', () => {
  it('streams the dump into the store and writes a manifest of the snapshot, heartbeating meanwhile', async () => {
    const environment = new MockActivityEnvironment();
    let heartbeats = 0;
    environment.on('heartbeat', () => (heartbeats += 1));
    const result = await environment.run(createBackup, deps, call('backup.create', backupInput('first'), withVault(db(source.url))));
    const dumpFile = join(folder, 'store', 'orders', 'first.dump');
    const bytes = await readFile(dumpFile);
    expect(bytes.subarray(0, 5).toString()).toBe('PGDMP');
    expect(result).toMatchObject({ backupId: 'first', location: dumpFile, bytes: bytes.length, tables: 4, rows: 1200 + 300 + 50 + 30 });
    expect(heartbeats).toBeGreaterThan(0);

    const store = localStore();
    const manifest = await readManifest(store, 'orders', 'first');
    expect(manifest).toMatchObject({ database: source.url.split('/').pop(), source: 'orders-db', sampleRows: 100, dumpKey: 'orders/first.dump', newestHeartbeat: '2024-05-01T12:00:30.000Z' });
    expect(manifest.tables.map((table) => [`${table.schema}.${table.name}`, table.rows, table.sample.rows])).toEqual([
      ['public.customers', 300, 100],
      ['public.events', 50, 50],
      ['public.golive_heartbeat', 30, 30],
      ['public.payments', 1200, 100],
    ]);
    expect(Date.parse(manifest.snapshotAt)).toBeGreaterThanOrEqual(Date.parse(manifest.startedAt));
    expect(Date.parse(manifest.finishedAt)).toBeGreaterThanOrEqual(Date.parse(manifest.snapshotAt));
    expect(catalog.entries.at(-1)).toEqual({ manifest, location: dumpFile });
  });

  it('fingerprints change with the first rows and not with rows past the sample', async () => {
    const before = await createBackup(deps, call('backup.create', backupInput('fp-before'), withVault(db(source.url))));
    await runSql(source.url, "UPDATE payments SET note = 'late edit' WHERE id = 1100");
    const afterLate = await createBackup(deps, call('backup.create', backupInput('fp-late'), withVault(db(source.url))));
    await runSql(source.url, "UPDATE payments SET note = 'early edit' WHERE id = 5");
    const afterEarly = await createBackup(deps, call('backup.create', backupInput('fp-early'), withVault(db(source.url))));
    await runSql(source.url, "UPDATE payments SET note = 'p' || id WHERE id IN (5, 1100)");
    const store = localStore();
    const sample = async (id: string) => (await readManifest(store, 'orders', id)).tables.find((table) => table.name === 'payments')?.sample.md5;
    expect([before.backupId, afterLate.backupId, afterEarly.backupId]).toEqual(['fp-before', 'fp-late', 'fp-early']);
    expect(await sample('fp-late')).toBe(await sample('fp-before'));
    expect(await sample('fp-early')).not.toBe(await sample('fp-before'));
  });

  it('returns the written backup on a retry without dumping again', async () => {
    const request = call('backup.create', backupInput('retried'), withVault(db(source.url)));
    const first = await createBackup(deps, request);
    const dumpFile = join(folder, 'store', 'orders', 'retried.dump');
    const written = await stat(dumpFile);
    await runSql(source.url, "INSERT INTO events VALUES ('after', '{}')");
    const again = await createBackup(deps, request);
    expect(again).toEqual(first);
    expect((await stat(dumpFile)).mtimeMs).toBe(written.mtimeMs);
    expect(catalog.entries.filter((entry) => entry.manifest.backupId === 'retried')).toHaveLength(2);
    await runSql(source.url, "DELETE FROM events WHERE kind = 'after'");
  });

  it("refuses a backupId another run already took, while that run's retry still gets its backup", async () => {
    const first = call('backup.create', backupInput('claimed'), withVault(db(source.url)));
    const taken = await createBackup(deps, first);
    const other = call('backup.create', backupInput('claimed'), withVault(db(source.url)));
    expect(other.request.runId).not.toBe(first.request.runId);
    const dumpFile = join(folder, 'store', 'orders', 'claimed.dump');
    await expect(createBackup(deps, other)).rejects.toMatchObject({
      type: 'BackupExists',
      nonRetryable: true,
      message: `backup claimed of orders already exists in ${dumpFile}, taken by run ${first.request.runId}: choose another backupId`,
    });
    expect(await createBackup(deps, first)).toEqual(taken);
    expect((await readManifest(localStore(), 'orders', 'claimed')).runId).toBe(first.request.runId);
  });

  it('fails without retry, naming the bucket, when the store bucket does not exist', async () => {
    const missing: Target = { type: 's3', bucket: 'no-such-bucket', prefix: '' };
    const failing = createBackup(deps, call('backup.create', backupInput('refused'), withVault(db(source.url), missing)));
    await expect(failing).rejects.toMatchObject({ type: 'StoreFailed', nonRetryable: true, message: expect.stringContaining('cannot read s3://no-such-bucket/orders/refused.manifest.json in backup store vault: NoSuchBucket') });
  });

  it('fails without retry when the store is not a store, naming it', async () => {
    const failing = createBackup(deps, call('backup.create', backupInput('nowhere'), { target: db(source.url), targets: { vault: { type: 'postgres', url: source.url } } }));
    await expect(failing).rejects.toMatchObject({ type: 'InvalidTarget', message: expect.stringContaining('backup store vault is a postgres target, not filesystem or s3') });
  });
});

describe('backup.prune and backup.latest', () => {
  const vault = (): Target => ({ type: 'filesystem', path: join(folder, 'retention') });
  const store = () => openBackupStore({ name: 'vault', spec: { type: 'filesystem', path: join(folder, 'retention') } }, {});
  const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000).toISOString();
  const storeTarget = () => ({ name: 'vault', spec: vault() });

  it('says how to take the first backup when there is none', async () => {
    const failing = latestBackup(call('backup.latest', { service: 'ledger' }, { target: storeTarget() }));
    await expect(failing).rejects.toMatchObject({
      type: 'NoBackup',
      nonRetryable: true,
      message: `no backup of ledger in ${join(folder, 'retention', 'ledger')}: run \`golive backup run RUNBOOK\``,
    });
  });

  it('finds the newest complete backup', async () => {
    for (const [backupId, age] of [['d4', 96], ['d3', 72], ['d2', 48], ['h1', 1]] as const) {
      await createBackup(deps, call('backup.create', { ...backupInput(backupId), service: 'ledger' }, withVault(db(plain.url), vault())));
      const manifest = await readManifest(store(), 'ledger', backupId);
      await writeManifest(store(), { ...manifest, snapshotAt: hoursAgo(age) });
    }
    const latest = await latestBackup(call('backup.latest', { service: 'ledger' }, { target: storeTarget() }));
    const newest = await readManifest(store(), 'ledger', 'h1');
    expect(latest).toEqual({
      backupId: 'h1', location: join(folder, 'retention', 'ledger', 'h1.dump'),
      snapshotAt: newest.snapshotAt, finishedAt: newest.finishedAt, bytes: newest.bytes, sha256: newest.sha256,
    });
  });

  it('keeps the newest N and deletes dump and manifest of the rest', async () => {
    const result = await pruneBackups(deps, call('backup.prune', { service: 'ledger', keep: 3 }, { target: storeTarget() }));
    expect(result).toEqual({ deleted: ['d4'], kept: 3 });
    expect((await store().list('ledger/')).sort()).toEqual(['d2', 'd3', 'h1'].flatMap((id) => [`ledger/${id}.dump`, `ledger/${id}.manifest.json`]));
    expect(catalog.prunes.at(-1)).toEqual({ service: 'ledger', ids: ['d4'] });
  });

  it('deletes backups older than maxAge, and a backup that fails either rule', async () => {
    const result = await pruneBackups(deps, call('backup.prune', { service: 'ledger', keep: 2, maxAge: '60h' }, { target: storeTarget() }));
    expect(result).toEqual({ deleted: ['d3'], kept: 2 });
    const older = await pruneBackups(deps, call('backup.prune', { service: 'ledger', maxAge: '36h' }, { target: storeTarget() }));
    expect(older).toEqual({ deleted: ['d2'], kept: 1 });
  });

  it('never deletes the newest backup, however old', async () => {
    const result = await pruneBackups(deps, call('backup.prune', { service: 'ledger', maxAge: '1m', keep: 1 }, { target: storeTarget() }));
    expect(result).toEqual({ deleted: [], kept: 1 });
    expect(await latestBackup(call('backup.latest', { service: 'ledger' }, { target: storeTarget() }))).toMatchObject({ backupId: 'h1' });
  });
});

describe('backup.verify-checksum', () => {
  const storeTarget = () => ({ name: 'vault', spec: local() });

  it('reads the dump back and matches the manifest', async () => {
    const taken = await createBackup(deps, call('backup.create', backupInput('checked'), withVault(db(source.url))));
    const result = await verifyChecksum(call('backup.verify-checksum', { service: 'orders', backupId: 'checked' }, { target: storeTarget() }));
    expect(result).toEqual({ backupId: 'checked', bytes: taken.bytes, sha256: taken.sha256 });
  });

  it('fails on a flipped byte, naming the backup, both hashes and sizes', async () => {
    const taken = await createBackup(deps, call('backup.create', backupInput('flipped'), withVault(db(source.url))));
    const file = await open(join(folder, 'store', 'orders', 'flipped.dump'), 'r+');
    const byte = Buffer.alloc(1);
    await file.read(byte, 0, 1, 100);
    await file.write(Buffer.from([(byte[0] ?? 0) ^ 0xff]), 0, 1, 100);
    await file.close();
    const failing = verifyChecksum(call('backup.verify-checksum', { service: 'orders', backupId: 'flipped' }, { target: storeTarget() }));
    await expect(failing).rejects.toMatchObject({ type: 'ChecksumMismatch', nonRetryable: true });
    const message = await failing.catch((error: Error) => error.message);
    expect(message).toMatch(new RegExp(`^backup flipped of orders at ${join(folder, 'store', 'orders', 'flipped.dump')} is corrupt: it has sha256 [0-9a-f]{12}… and ${taken.bytes} bytes, its manifest says sha256 ${taken.sha256.slice(0, 12)}… and ${taken.bytes} bytes$`));
  });

  it('says which backup is missing', async () => {
    const failing = verifyChecksum(call('backup.verify-checksum', { service: 'orders', backupId: 'never' }, { target: storeTarget() }));
    await expect(failing).rejects.toMatchObject({ type: 'BackupMissing', message: expect.stringMatching(/^no backup never of orders in .*never\.manifest\.json: its manifest is missing/) });
  });
});
