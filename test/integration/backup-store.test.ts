import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CreateBucketCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClientConfig } from '../../config/aws.ts';
import { listManifests, readManifest, writeManifest } from '../../backups/manifests.ts';
import { openBackupStore, type BackupStore, type StoreTarget } from '../../backups/store.ts';
import { MANIFEST_FORMAT, type BackupManifest } from '../../definitions/backup-manifest.ts';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';

let moto: MotoServer;
let s3: S3Client;
let folder: string;
const opened: BackupStore[] = [];

beforeAll(async () => {
  moto = await startMoto(requireTool(loadToolchain(), 'motoServer'));
  s3 = new S3Client({ ...awsClientConfig(moto.env, undefined), forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: 'golive-backups' }));
  folder = await mkdtemp(join(tmpdir(), 'golive-store-'));
});

afterAll(async () => {
  for (const store of opened) store.close();
  s3?.destroy();
  await moto?.stop();
  await rm(folder, { recursive: true, force: true });
});

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString();
}

/** A body that sends `bytes` and then breaks, like a pg_dump that dies half-way. */
function brokenBody(bytes: number): Readable {
  return Readable.from((async function* () {
    for (let sent = 0; sent < bytes; sent += 1024 * 1024) yield randomBytes(Math.min(1024 * 1024, bytes - sent));
    throw new Error('pg_dump died half-way');
  })());
}

function manifest(backupId: string, snapshotAt: string): BackupManifest {
  return {
    format: MANIFEST_FORMAT, backupId, service: 'orders', database: 'orders', source: 'orders-db', runId: 'run-1',
    startedAt: snapshotAt, finishedAt: snapshotAt, snapshotAt, dumpKey: `orders/${backupId}.dump`, bytes: 3,
    sha256: 'a'.repeat(64), serverVersion: '15.8', sampleRows: 10, tables: [],
  };
}

const stores: Array<{ kind: string; target: () => StoreTarget; root: () => string }> = [
  { kind: 'filesystem', target: () => ({ name: 'local-backups', spec: { type: 'filesystem', path: join(folder, 'fs') } }), root: () => join(folder, 'fs') },
  { kind: 's3', target: () => ({ name: 'offsite', spec: { type: 's3', bucket: 'golive-backups', prefix: 'prod/', region: 'us-east-1' } }), root: () => 's3://golive-backups/prod' },
];

describe.each(stores)('$kind backup store', ({ kind, target, root }) => {
  let store: BackupStore;
  beforeAll(() => {
    store = openBackupStore(target(), moto.env);
    opened.push(store);
  });

  it('writes, reads back, lists by prefix and removes', async () => {
    await store.write('orders/a.dump', Readable.from([Buffer.from('first'), Buffer.from(' dump')]));
    await store.write('orders/b.dump', Readable.from([Buffer.from('second')]));
    await store.write('billing/c.dump', Readable.from([Buffer.from('other service')]));
    expect(await text(await store.read('orders/a.dump'))).toBe('first dump');
    expect((await store.list('orders/')).sort()).toEqual(['orders/a.dump', 'orders/b.dump']);
    expect(await store.list('orders/a')).toEqual(['orders/a.dump']);
    expect(store.location('orders/a.dump')).toBe(`${root()}/orders/a.dump`);
    await store.remove(['orders/a.dump', 'orders/never-there.dump']);
    expect(await store.list('orders/')).toEqual(['orders/b.dump']);
  });

  it('says clearly when a key does not exist', async () => {
    await expect(store.read('orders/missing.dump')).rejects.toMatchObject({
      type: 'BackupMissing',
      nonRetryable: true,
      message: `cannot read ${root()}/orders/missing.dump in backup store ${target().name}: it does not exist`,
    });
    expect(await store.list('nobody/')).toEqual([]);
  });

  it('leaves nothing visible when the body breaks half-way, small or multipart', async () => {
    await expect(store.write('orders/small.dump', brokenBody(100_000))).rejects.toThrow(/pg_dump died half-way/);
    await expect(store.write('orders/large.dump', brokenBody(40 * 1024 * 1024))).rejects.toThrow(/pg_dump died half-way/);
    expect(await store.list('orders/')).toEqual(['orders/b.dump']);
    if (kind === 'filesystem') expect(await readdir(join(root(), 'orders'))).toEqual(['b.dump']);
    if (kind === 's3') {
      const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'golive-backups' }));
      expect(uploads.Uploads ?? []).toEqual([]);
    }
  });

  it('refuses keys that leave the store', () => {
    expect(() => store.location('../etc/passwd')).toThrow(/not a plain relative path/);
  });

  it('lists complete backups newest first and skips dumps without a manifest', async () => {
    await writeManifest(store, manifest('monday', '2024-05-06T02:00:00.000Z'));
    await writeManifest(store, manifest('wednesday', '2024-05-08T02:00:00.000Z'));
    await writeManifest(store, manifest('tuesday', '2024-05-07T02:00:00.000Z'));
    await store.write('orders/unfinished.dump', Readable.from([Buffer.from('half')]));
    const listed = await listManifests(store, 'orders');
    expect(listed.map((entry) => entry.manifest.backupId)).toEqual(['wednesday', 'tuesday', 'monday']);
    expect(listed[0]?.location).toBe(`${root()}/orders/wednesday.dump`);
    expect(await readManifest(store, 'orders', 'tuesday')).toEqual(manifest('tuesday', '2024-05-07T02:00:00.000Z'));
    await expect(readManifest(store, 'orders', 'unfinished')).rejects.toMatchObject({
      type: 'BackupMissing',
      message: `no backup unfinished of orders in ${root()}/orders/unfinished.manifest.json: its manifest is missing (the backup never finished, or was pruned)`,
    });
  });

  it('fails clearly on a manifest that is not one', async () => {
    await store.write('orders/bad.manifest.json', Readable.from([Buffer.from('{"format":"golive-backup/v1","backupId":"bad"}')]));
    await expect(readManifest(store, 'orders', 'bad')).rejects.toMatchObject({
      type: 'ManifestInvalid',
      message: expect.stringMatching(new RegExp(`^cannot use backup manifest ${root()}/orders/bad\\.manifest\\.json: service: .*expected string`)),
    });
    await store.write('orders/bad.manifest.json', Readable.from([Buffer.from('not json')]));
    await expect(listManifests(store, 'orders')).rejects.toMatchObject({ type: 'ManifestInvalid', message: expect.stringContaining('it is not JSON') });
    await store.remove(['orders/bad.manifest.json']);
  });
});

describe('s3 backup store errors', () => {
  it('fails without retry for a bucket that does not exist', async () => {
    const store = openBackupStore({ name: 'nowhere', spec: { type: 's3', bucket: 'no-such-bucket', prefix: '' } }, moto.env);
    opened.push(store);
    await expect(store.write('orders/x.dump', Readable.from([Buffer.from('x')]))).rejects.toMatchObject({
      type: 'StoreFailed',
      nonRetryable: true,
      message: expect.stringMatching(/^cannot write s3:\/\/no-such-bucket\/orders\/x\.dump in backup store nowhere: NoSuchBucket/),
    });
  });

  it('writes files under a filesystem store path that did not exist yet', async () => {
    const path = join(folder, 'new', 'deeper');
    const store = openBackupStore({ name: 'fresh', spec: { type: 'filesystem', path } }, {});
    await store.write('orders/x.dump', Readable.from([Buffer.from('x')]));
    await writeFile(join(path, 'orders', '.ignored.partial'), 'left by a killed worker');
    expect(await store.list('orders/')).toEqual(['orders/x.dump']);
  });
});
