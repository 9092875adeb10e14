import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand, Route53Client, type ResourceRecordSet } from '@aws-sdk/client-route-53';
import { z } from 'zod';
import { awsClientConfig } from '../../config/aws.ts';
import { businessFailure } from '../../definitions/failures.ts';
import type { Environment } from '../../definitions/targets.ts';
import { stepTarget, type ActionCall } from '../call.ts';
import { heartbeat, previousAttempt } from '../context.ts';
import { send } from './request.ts';

const normalName = (name: string) => `${name.toLowerCase().replace(/\\052/g, '*').replace(/\.$/, '')}.`;
const recordValue = (type: string, value: string) => (type === 'TXT' && !value.startsWith('"') ? JSON.stringify(value) : value);

interface RecordState {
  values: string[];
  ttl: number | null;
  weight: number | null;
}
const RecordStateSchema = z.object({ values: z.array(z.string()), ttl: z.number().nullable(), weight: z.number().nullable() });
const RememberedRecord = z.object({ previous: RecordStateSchema.nullable() });

function recordState(record: ResourceRecordSet): RecordState {
  return { values: (record.ResourceRecords ?? []).map((entry) => entry.Value ?? ''), ttl: record.TTL ?? null, weight: record.Weight ?? null };
}

/**
 * Creates or updates one record (one weighted member when setIdentifier is given). A record that
 * already reads as asked is left alone (changeId null); `previous` is the record before this
 * step's first attempt, or null when there was none, so a rollback can restore it.
 */
export async function upsertRecord(env: Environment, call: ActionCall<'route53.upsert-record'>) {
  const target = stepTarget(call, 'route53');
  const { name, type, setIdentifier, weight } = call.input;
  const context = `route53.upsert-record ${target.name} (${type} ${name}${setIdentifier ? ` ${setIdentifier}` : ''})`;
  if ((setIdentifier === undefined) !== (weight === undefined)) {
    throw businessFailure(`${context}: a weighted record needs both setIdentifier and weight`, 'InvalidInput');
  }
  const client = new Route53Client(awsClientConfig(env, target.spec.region));
  try {
    return await upsert(client, call, target.spec.hostedZoneId, context);
  } finally {
    client.destroy();
  }
}

async function upsert(client: Route53Client, call: ActionCall<'route53.upsert-record'>, zone: string, context: string) {
  const { name, type, ttl, setIdentifier, weight } = call.input;
  const listed = await send(context, (abortSignal) =>
    client.send(new ListResourceRecordSetsCommand({ HostedZoneId: zone, StartRecordName: name, StartRecordType: type, MaxItems: 300 }), { abortSignal }),
  );
  const existing = (listed.ResourceRecordSets ?? []).find(
    (record) => normalName(record.Name ?? '') === normalName(name) && record.Type === type && record.SetIdentifier === setIdentifier,
  );
  const current = existing ? recordState(existing) : null;
  const previous = previousAttempt(RememberedRecord)?.previous ?? current;
  // Known before anything changes: a retry, or the compensation of an interrupted step, restores it.
  heartbeat({ previous });
  const values = call.input.values.map((value) => recordValue(type, value));
  const wanted: RecordState = { values, ttl, weight: weight ?? null };
  if (current !== null && JSON.stringify(current) === JSON.stringify(wanted)) {
    return { changeId: null, status: 'INSYNC', previous, changed: false };
  }
  const recordSet = { Name: name, Type: type, TTL: ttl, ResourceRecords: values.map((Value) => ({ Value })), SetIdentifier: setIdentifier, Weight: weight };
  const changed = await send(context, (abortSignal) =>
    client.send(new ChangeResourceRecordSetsCommand({
      HostedZoneId: zone,
      ChangeBatch: { Comment: `golive ${call.request.idempotencyKey}`, Changes: [{ Action: 'UPSERT', ResourceRecordSet: recordSet }] },
    }), { abortSignal }),
  );
  return { changeId: changed.ChangeInfo?.Id ?? null, status: changed.ChangeInfo?.Status ?? 'PENDING', previous, changed: true };
}
