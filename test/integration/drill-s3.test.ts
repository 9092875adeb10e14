import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClientConfig } from '../../config/aws.ts';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import { uniqueId } from '../support/db.ts';
import { createEngineHarness, type EngineHarness } from '../support/engine.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createDrSource, drRunbook, runProtection, scratchDatabases, startDrWorker, type DrSource } from '../support/protection.ts';

let harness: EngineHarness;
let source: DrSource;
let moto: MotoServer;
let s3: S3Client;
const bucket = uniqueId('golive-backups');

beforeAll(async () => {
  moto = await startMoto(requireTool(loadToolchain(), 'motoServer'));
  s3 = new S3Client({ ...awsClientConfig(moto.env, undefined), forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  harness = await createEngineHarness('drill_s3');
  source = await createDrSource('drill_s3_source', 20_000);
  await startDrWorker(harness, { ...source.env, ...moto.env });
});

afterAll(async () => {
  await harness?.close();
  await source?.drop();
  s3?.destroy();
  await moto?.stop();
});

describe('backups in S3', () => {
  it('streams a backup into a bucket under the prefix, and a drill restores and verifies it from there', async () => {
    const runbook = drRunbook('orders-s3', { expectOrders: 20_000, store: { type: 's3', bucket, prefix: 'prod/' } });
    const backup = await runProtection(harness, 'backup', runbook);
    expect(backup.state.status, backup.state.reason).toBe('succeeded');
    const { backupId, location } = backup.state.steps[0]!.result as { backupId: string; location: string };
    expect(location).toBe(`s3://${bucket}/prod/orders-s3/${backupId}.dump`);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'prod/orders-s3/' }));
    expect(listed.Contents?.map((object) => object.Key).sort()).toEqual([`prod/orders-s3/${backupId}.dump`, `prod/orders-s3/${backupId}.manifest.json`]);

    const { drill } = await runProtection(harness, 'drill', runbook);
    expect(drill?.status, drill?.reason).toBe('passed');
    expect(drill?.backup).toMatchObject({ backupId, location });
    expect(await scratchDatabases('orders-s3')).toEqual([]);
  });
});
