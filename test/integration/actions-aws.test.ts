import { AutoScalingClient, CreateAutoScalingGroupCommand, CreateLaunchConfigurationCommand, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CreateHostedZoneCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClientConfig } from '../../config/aws.ts';
import type { Target } from '../../definitions/targets.ts';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import { actionRequest, testActivities } from '../support/actions.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';

let moto: MotoServer;
let activities: ReturnType<typeof testActivities>;
let route53: Route53Client;
let autoscaling: AutoScalingClient;
let zoneId: string;
let zone: { name: string; spec: Target };
const group: { name: string; spec: Target } = { name: 'web-asg', spec: { type: 'autoscaling', groupName: 'web' } };

beforeAll(async () => {
  moto = await startMoto(requireTool(loadToolchain(), 'motoServer'));
  activities = testActivities(moto.env);
  route53 = new Route53Client(awsClientConfig(moto.env, undefined));
  autoscaling = new AutoScalingClient(awsClientConfig(moto.env, undefined));
  const created = await route53.send(new CreateHostedZoneCommand({ Name: 'example.test', CallerReference: 'golive-test' }));
  zoneId = created.HostedZone?.Id?.replace('/hostedzone/', '') ?? '';
  zone = { name: 'public-zone', spec: { type: 'route53', hostedZoneId: zoneId } };
  await autoscaling.send(new CreateLaunchConfigurationCommand({ LaunchConfigurationName: 'web-lc', ImageId: 'ami-12c6146b', InstanceType: 't3.micro' }));
  await autoscaling.send(new CreateAutoScalingGroupCommand({
    AutoScalingGroupName: 'web', LaunchConfigurationName: 'web-lc', MinSize: 1, MaxSize: 4, DesiredCapacity: 2, AvailabilityZones: ['us-east-1a'],
  }));
});

afterAll(async () => {
  route53?.destroy();
  autoscaling?.destroy();
  await moto?.stop();
});

const upsert = (input: Record<string, unknown>) => actionRequest('route53.upsert-record', input, { target: zone });

async function weightedRecords(name: string) {
  const listed = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
  return (listed.ResourceRecordSets ?? [])
    .filter((record) => record.Name === name)
    .map((record) => ({ id: record.SetIdentifier, weight: record.Weight, values: record.ResourceRecords?.map((entry) => entry.Value) }));
}

describe('route53.upsert-record', () => {
  const blue = { name: 'api.example.test', type: 'A', values: ['192.0.2.10'], setIdentifier: 'blue', weight: 100 };

  it('creates a weighted record and reports there was none before', async () => {
    const result = await activities['route53.upsert-record'](upsert(blue));
    expect(result).toMatchObject({ changeId: expect.any(String), status: expect.stringMatching(/PENDING|INSYNC/), previous: null, changed: true });
    await activities['route53.upsert-record'](upsert({ ...blue, values: ['192.0.2.20'], setIdentifier: 'green', weight: 0 }));
    expect(await weightedRecords('api.example.test.')).toEqual([
      { id: 'blue', weight: 100, values: ['192.0.2.10'] },
      { id: 'green', weight: 0, values: ['192.0.2.20'] },
    ]);
  });

  it('shifts weight and reports the record as it was, for a rollback', async () => {
    const result = await activities['route53.upsert-record'](upsert({ ...blue, weight: 0 }));
    expect(result).toMatchObject({ previous: { values: ['192.0.2.10'], ttl: 60, weight: 100 }, changed: true });
    expect((await weightedRecords('api.example.test.')).find((record) => record.id === 'blue')?.weight).toBe(0);
  });

  it('changes nothing when the record already reads as asked, and a retry keeps the first previous', async () => {
    expect(await activities['route53.upsert-record'](upsert({ ...blue, weight: 0 }))).toMatchObject({ changeId: null, changed: false });
    const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { previous: { values: ['192.0.2.10'], ttl: 60, weight: 100 } } });
    const result = await retry.run(activities['route53.upsert-record'], upsert({ ...blue, weight: 0 }));
    expect(result).toMatchObject({ previous: { weight: 100 }, changed: false });
  });

  it('quotes TXT values as Route 53 wants them', async () => {
    await activities['route53.upsert-record'](upsert({ name: 'drill.example.test', type: 'TXT', values: ['golive drill 42'] }));
    expect(await weightedRecords('drill.example.test.')).toEqual([{ id: undefined, weight: undefined, values: ['"golive drill 42"'] }]);
  });

  it('fails without retry for a hosted zone that does not exist', async () => {
    const missing = { name: 'gone-zone', spec: { type: 'route53', hostedZoneId: 'ZNOSUCHZONE' } } as const;
    const failing = activities['route53.upsert-record'](actionRequest('route53.upsert-record', blue, { target: missing }));
    await expect(failing).rejects.toMatchObject({ type: 'NotFound', nonRetryable: true, message: expect.stringMatching(/^route53\.upsert-record gone-zone \(A api\.example\.test blue\): NoSuchHostedZone/) });
  });
});

describe('autoscaling.set-capacity', () => {
  const setCapacity = (input: Record<string, unknown>) => activities['autoscaling.set-capacity'](actionRequest('autoscaling.set-capacity', input, { target: group }));

  it('sets desired capacity and reports the previous capacity', async () => {
    expect(await setCapacity({ desired: 3 })).toEqual({ previous: { desired: 2, min: 1, max: 4 }, desired: 3, min: 1, max: 4, changed: true });
    const described = await autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['web'] }));
    expect(described.AutoScalingGroups?.[0]?.DesiredCapacity).toBe(3);
  });

  it('raises max along with desired when asked', async () => {
    expect(await setCapacity({ desired: 6, max: 8 })).toMatchObject({ previous: { desired: 3, max: 4 }, desired: 6, max: 8, changed: true });
  });

  it('refuses a desired capacity above max, naming both', async () => {
    await expect(setCapacity({ desired: 12 })).rejects.toMatchObject({
      type: 'InvalidCapacity',
      nonRetryable: true,
      message: 'autoscaling.set-capacity web-asg (group web): desired 12 is above max 8; set max too',
    });
  });

  it('fails without retry for a group that does not exist', async () => {
    const missing = { name: 'ghost', spec: { type: 'autoscaling', groupName: 'ghost' } } as const;
    const failing = activities['autoscaling.set-capacity'](actionRequest('autoscaling.set-capacity', { desired: 1 }, { target: missing }));
    await expect(failing).rejects.toMatchObject({ type: 'NotFound', nonRetryable: true });
  });
});
