import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ApplicationFailure } from '@temporalio/common';
import { Readable } from 'node:stream';
import type { TargetOf } from '../definitions/targets.ts';
import { awsClientConfig } from '../config/aws.ts';
import type { BackupStore } from './store.ts';
import { checkKey } from './keys.ts';
import type { Environment } from '../definitions/targets.ts';
import { awsRefusal, businessFailure, rethrow } from '../definitions/failures.ts';

/** 16 MiB parts, four in flight: 64 MiB of memory at most, dumps up to 160 GiB (10,000 parts). */
const PART_SIZE = 16 * 1024 * 1024;
const PARTS_IN_FLIGHT = 4;
const DELETE_BATCH = 1_000;

/** A missing object is BackupMissing; other refusals (no bucket, access denied) fail the step; the rest retries. */
function rethrowS3(error: unknown, context: string): never {
  if (error instanceof ApplicationFailure) throw error;
  const refusal = awsRefusal(error);
  if (refusal && (refusal.name === 'NoSuchKey' || refusal.name === 'NotFound')) throw businessFailure(`${context}: it does not exist`, 'BackupMissing', error);
  if (refusal?.transient) throw new Error(`${context}: ${refusal.name}: ${refusal.message}`, { cause: error });
  if (refusal?.refused) throw businessFailure(`${context}: ${refusal.name}: ${refusal.message}`, 'StoreFailed', error);
  return rethrow(error, context, 'StoreFailed');
}

/** The store's prefix as a folder: '' or 'backups/'. */
function folderPrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

/** A backup store under s3://bucket/prefix; AWS_ENDPOINT_URL (moto, MinIO) switches to path-style addressing. */
export function openS3Store(name: string, spec: TargetOf<'s3'>, env: Environment): BackupStore {
  const client = new S3Client({ ...awsClientConfig(env, spec.region), forcePathStyle: Boolean(env.AWS_ENDPOINT_URL) });
  const { bucket } = spec;
  const root = folderPrefix(spec.prefix);
  const objectKey = (key: string) => `${root}${checkKey(key)}`;
  const location = (key: string) => `s3://${bucket}/${objectKey(key)}`;
  const context = (action: string, key: string) => `cannot ${action} ${location(key)} in backup store ${name}`;

  return {
    location,
    async write(key, body) {
      const upload = new Upload({
        client,
        params: { Bucket: bucket, Key: objectKey(key), Body: body },
        partSize: PART_SIZE,
        queueSize: PARTS_IN_FLIGHT,
        leavePartsOnError: false,
      });
      try {
        await upload.done();
      } catch (error) {
        body.destroy();
        rethrowS3(error, context('write', key));
      }
    },
    async read(key) {
      try {
        const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey(key) }));
        if (answer.Body instanceof Readable) return answer.Body;
      } catch (error) {
        rethrowS3(error, context('read', key));
      }
      throw businessFailure(`${context('read', key)}: S3 returned no readable body`, 'StoreFailed');
    },
    async list(prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      try {
        do {
          const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${root}${prefix}`, ContinuationToken: token }));
          for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key.slice(root.length));
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token !== undefined);
      } catch (error) {
        rethrowS3(error, `cannot list s3://${bucket}/${root}${prefix} in backup store ${name}`);
      }
      return keys;
    },
    async remove(keys) {
      for (let start = 0; start < keys.length; start += DELETE_BATCH) {
        const batch = keys.slice(start, start + DELETE_BATCH);
        const where = `cannot delete ${batch.length} objects under s3://${bucket}/${root} in backup store ${name}`;
        let failed: string[] = [];
        try {
          const answer = await client.send(new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: batch.map((key) => ({ Key: objectKey(key) })), Quiet: true },
          }));
          failed = (answer.Errors ?? []).map((entry) => `${entry.Key ?? '?'} (${entry.Code ?? 'error'})`);
        } catch (error) {
          rethrowS3(error, where);
        }
        if (failed.length > 0) throw new Error(`${where}: ${failed.join(', ')}`);
      }
    },
    close: () => client.destroy(),
  };
}
