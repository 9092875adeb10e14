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

const RecordStateSchema = z.object({
  values: z.array(z.string()),
  ttl: z.number().nullable(),
  weight: z.number().nullable(),
  // Absent in what an attempt from before failover routing heartbeated.
  failover: z.enum(['PRIMARY', 'SECONDARY']).nullable().default(null),
  healthCheckId: z.string().nullable().default(null),
});
type RecordState = z.output<typeof RecordStateSchema>;
const RememberedRecord = z.object({ previous: RecordStateSchema.nullable() });

function recordState(record: ResourceRecordSet): RecordState {
  return {
    values: (record.ResourceRecords ?? []).map((entry) => entry.Value ?? ''),
    ttl: record.TTL ?? null,
    weight: record.Weight ?? null,
    failover: record.Failover ?? null,
    healthCheckId: record.HealthCheckId ?? null,
  };
}

/** Same record for Route 53: the order of values does not matter. */
function sameRecord(left: RecordState, right: RecordState): boolean {
  const sorted = (state: RecordState) => JSON.stringify({ ...state, values: [...state.values].sort() });
  return sorted(left) === sorted(right);
}

/** A weighted record needs setIdentifier and weight, a failover record setIdentifier and failover, never both kinds. */
function checkRouting(input: ActionCall<'route53.upsert-record'>['input'], context: string): void {
  const { setIdentifier, weight, failover } = input;
  if (failover !== undefined && weight !== undefined) {
    throw businessFailure(`${context}: a record is weighted or failover, not both: drop weight or failover`, 'InvalidInput');
  }
  if (failover !== undefined && setIdentifier === undefined) {
    throw businessFailure(`${context}: a failover record (${failover}) needs setIdentifier`, 'InvalidInput');
  }
  if (failover === undefined && (setIdentifier === undefined) !== (weight === undefined)) {
    throw businessFailure(`${context}: a weighted record needs both setIdentifier and weight`, 'InvalidInput');
  }
}

/**
 * Creates or updates one record: a simple record, a weighted member (setIdentifier and weight)
 * or one side of a failover pair (setIdentifier and failover PRIMARY or SECONDARY, with its
 * healthCheckId). A record that already reads as asked is left alone (changeId null);
 * `previous` is the record before this step's first attempt, or null when there was none, so a
 * rollback can restore it. The record is read back afterwards (`verified`); reading anything
 * other than what was asked fails with NotConfirmed.
 */
export async function upsertRecord(env: Environment, call: ActionCall<'route53.upsert-record'>) {
  const target = stepTarget(call, 'route53');
  const { name, type, setIdentifier } = call.input;
  const context = `route53.upsert-record ${target.name} (${type} ${name}${setIdentifier ? ` ${setIdentifier}` : ''})`;
  checkRouting(call.input, context);
  const client = new Route53Client(awsClientConfig(env, target.spec.region));
  try {
    return await upsert(client, call, target.spec.hostedZoneId, context);
  } finally {
    client.destroy();
  }
}

/** The record of that name, type and set identifier as Route 53 lists it now, if there is one. */
async function readRecord(client: Route53Client, call: ActionCall<'route53.upsert-record'>, zone: string, context: string) {
  const { name, type, setIdentifier } = call.input;
  const listed = await send(context, (abortSignal) =>
    client.send(new ListResourceRecordSetsCommand({ HostedZoneId: zone, StartRecordName: name, StartRecordType: type, MaxItems: 300 }), { abortSignal }),
  );
  const found = (listed.ResourceRecordSets ?? []).find(
    (record) => normalName(record.Name ?? '') === normalName(name) && record.Type === type && record.SetIdentifier === setIdentifier,
  );
  return found ? recordState(found) : null;
}

async function upsert(client: Route53Client, call: ActionCall<'route53.upsert-record'>, zone: string, context: string) {
  const { name, type, ttl, setIdentifier, weight, failover, healthCheckId } = call.input;
  const current = await readRecord(client, call, zone, context);
  const previous = previousAttempt(RememberedRecord)?.previous ?? current;
  // Known before anything changes: a retry, or the compensation of an interrupted step, restores it.
  heartbeat({ previous });
  const values = call.input.values.map((value) => recordValue(type, value));
  const wanted: RecordState = { values, ttl, weight: weight ?? null, failover: failover ?? null, healthCheckId: healthCheckId ?? null };
  if (current !== null && sameRecord(current, wanted)) {
    return { changeId: null, status: 'INSYNC', previous, changed: false, verified: true };
  }
  const recordSet: ResourceRecordSet = {
    Name: name,
    Type: type,
    TTL: ttl,
    ResourceRecords: values.map((Value) => ({ Value })),
    SetIdentifier: setIdentifier,
    Weight: weight,
    Failover: failover,
    HealthCheckId: healthCheckId,
  };
  const changed = await send(context, (abortSignal) =>
    client.send(new ChangeResourceRecordSetsCommand({
      HostedZoneId: zone,
      ChangeBatch: { Comment: `golive ${call.request.idempotencyKey}`, Changes: [{ Action: 'UPSERT', ResourceRecordSet: recordSet }] },
    }), { abortSignal }),
  );
  const changeId = changed.ChangeInfo?.Id ?? null;
  const readBack = await readRecord(client, call, zone, context);
  if (readBack === null || !sameRecord(readBack, wanted)) {
    throw businessFailure(
      `${context}: Route 53 accepted change ${changeId ?? '(no id)'} but the record reads ${readBack === null ? 'as missing' : describe(readBack)}, ` +
        `not ${describe(wanted)}; the record before was ${previous === null ? 'missing' : describe(previous)}`,
      'NotConfirmed',
    );
  }
  return { changeId, status: changed.ChangeInfo?.Status ?? 'PENDING', previous, changed: true, verified: true };
}

/** `192.0.2.10 ttl 60 weight 100` / `... failover PRIMARY health check hc-1`, for messages. */
function describe(state: RecordState): string {
  const parts = [state.values.join(' '), `ttl ${state.ttl ?? 'none'}`];
  if (state.weight !== null) parts.push(`weight ${state.weight}`);
  if (state.failover !== null) parts.push(`failover ${state.failover}`);
  if (state.healthCheckId !== null) parts.push(`health check ${state.healthCheckId}`);
  return parts.join(' ');
}
