import { AutoScalingClient, DescribeAutoScalingGroupsCommand, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand, Route53Client, type ResourceRecordSet } from '@aws-sdk/client-route-53';
import { z } from 'zod';
import { stepTarget, type ActionCall } from './call.ts';
import { deadlineSignal, heartbeat, previousAttempt } from './context.ts';
import type { Environment } from './env.ts';
import { businessFailure, rethrow } from './failures.ts';

/** Client settings from the standard AWS variables; AWS_ENDPOINT_URL points the SDK at moto in tests. */
export function awsClientConfig(env: Environment, region: string | undefined) {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
  return {
    region: region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(env.AWS_ENDPOINT_URL ? { endpoint: env.AWS_ENDPOINT_URL } : {}),
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey, sessionToken } } : {}),
  };
}

const AwsError = z.object({ name: z.string(), $fault: z.enum(['client', 'server']).optional() });
const TRANSIENT = /Throttl|SlowDown|RequestTimeout|PriorRequestNotComplete|RequestLimitExceeded/;

/** What AWS answered: its error name, and whether asking again may help; undefined when AWS did not answer. */
export function awsRefusal(error: unknown): { name: string; message: string; transient: boolean; refused: boolean } | undefined {
  const parsed = AwsError.safeParse(error);
  if (!parsed.success || !(error instanceof Error)) return undefined;
  const { name, $fault: fault } = parsed.data;
  const transient = fault === 'server' || TRANSIENT.test(name);
  return { name, message: error.message, transient, refused: !transient && fault === 'client' };
}

/** Throttling and server faults retry; a request AWS refuses (no such zone, bad record) does not. */
function rethrowAws(error: unknown, context: string): never {
  const refusal = awsRefusal(error);
  if (refusal?.transient) throw new Error(`${context}: ${refusal.name}: ${refusal.message}`, { cause: error });
  if (refusal?.refused) {
    const type = /NoSuch|NotFound/.test(refusal.name) ? 'NotFound' : 'AwsRequestFailed';
    throw businessFailure(`${context}: ${refusal.name}: ${refusal.message}`, type, error);
  }
  return rethrow(error, context, 'AwsRequestFailed');
}

async function send<T>(context: string, request: (signal: AbortSignal) => Promise<T>): Promise<T> {
  try {
    return await request(deadlineSignal(60_000));
  } catch (error) {
    rethrowAws(error, context);
  }
}

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
  const values = call.input.values.map((value) => recordValue(type, value));
  const wanted: RecordState = { values, ttl, weight: weight ?? null };
  if (current !== null && JSON.stringify(current) === JSON.stringify(wanted)) {
    return { changeId: null, status: 'INSYNC', previous, changed: false };
  }
  heartbeat({ previous });
  const recordSet = { Name: name, Type: type, TTL: ttl, ResourceRecords: values.map((Value) => ({ Value })), SetIdentifier: setIdentifier, Weight: weight };
  const changed = await send(context, (abortSignal) =>
    client.send(new ChangeResourceRecordSetsCommand({
      HostedZoneId: zone,
      ChangeBatch: { Comment: `golive ${call.request.idempotencyKey}`, Changes: [{ Action: 'UPSERT', ResourceRecordSet: recordSet }] },
    }), { abortSignal }),
  );
  return { changeId: changed.ChangeInfo?.Id ?? null, status: changed.ChangeInfo?.Status ?? 'PENDING', previous, changed: true };
}

const Capacity = z.object({ desired: z.number(), min: z.number(), max: z.number() });
type Capacity = z.infer<typeof Capacity>;

/**
 * Sets the desired capacity (and min/max when given) of an Auto Scaling group. `previous` is
 * the group's capacity before this step's first attempt, so a rollback can restore it.
 */
export async function setCapacity(env: Environment, call: ActionCall<'autoscaling.set-capacity'>) {
  const target = stepTarget(call, 'autoscaling');
  const group = target.spec.groupName;
  const context = `autoscaling.set-capacity ${target.name} (group ${group})`;
  const client = new AutoScalingClient(awsClientConfig(env, target.spec.region));
  try {
    return await updateCapacity(client, call, group, context);
  } finally {
    client.destroy();
  }
}

async function updateCapacity(client: AutoScalingClient, call: ActionCall<'autoscaling.set-capacity'>, group: string, context: string) {
  const described = await send(context, (abortSignal) =>
    client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] }), { abortSignal }),
  );
  const found = described.AutoScalingGroups?.find((entry) => entry.AutoScalingGroupName === group);
  if (!found) throw businessFailure(`${context}: no Auto Scaling group named ${group}`, 'NotFound');
  const current: Capacity = { desired: found.DesiredCapacity ?? 0, min: found.MinSize ?? 0, max: found.MaxSize ?? 0 };
  const previous = previousAttempt(z.object({ previous: Capacity }))?.previous ?? current;
  const wanted: Capacity = { desired: call.input.desired, min: call.input.min ?? current.min, max: call.input.max ?? current.max };
  checkCapacity(wanted, context);
  if (JSON.stringify(current) === JSON.stringify(wanted)) return { previous, ...wanted, changed: false };
  heartbeat({ previous });
  await send(context, (abortSignal) =>
    client.send(new UpdateAutoScalingGroupCommand({
      AutoScalingGroupName: group,
      DesiredCapacity: wanted.desired,
      MinSize: wanted.min,
      MaxSize: wanted.max,
    }), { abortSignal }),
  );
  return { previous, ...wanted, changed: true };
}

function checkCapacity({ desired, min, max }: Capacity, context: string): void {
  if (min > max) throw businessFailure(`${context}: min ${min} is above max ${max}`, 'InvalidCapacity');
  if (desired > max) throw businessFailure(`${context}: desired ${desired} is above max ${max}; set max too`, 'InvalidCapacity');
  if (desired < min) throw businessFailure(`${context}: desired ${desired} is below min ${min}; set min too`, 'InvalidCapacity');
}
