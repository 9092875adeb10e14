import {
  AutoScalingClient, CreateAutoScalingGroupCommand, CreateLaunchConfigurationCommand, DescribeAutoScalingGroupsCommand, SetInstanceHealthCommand,
} from '@aws-sdk/client-auto-scaling';
import { CreateHealthCheckCommand, CreateHostedZoneCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
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
const workers: { name: string; spec: Target } = { name: 'workers-asg', spec: { type: 'autoscaling', groupName: 'workers' } };

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
  await autoscaling.send(new CreateAutoScalingGroupCommand({
    AutoScalingGroupName: 'workers', LaunchConfigurationName: 'web-lc', MinSize: 0, MaxSize: 6, DesiredCapacity: 1, AvailabilityZones: ['us-east-1a'],
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

async function failoverRecords(name: string) {
  const listed = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
  return (listed.ResourceRecordSets ?? [])
    .filter((record) => record.Name === name)
    .map((record) => ({
      id: record.SetIdentifier, failover: record.Failover, healthCheckId: record.HealthCheckId, ttl: record.TTL, values: record.ResourceRecords?.map((entry) => entry.Value),
    }));
}

describe('route53.upsert-record', () => {
  const blue = { name: 'api.example.test', type: 'A', values: ['192.0.2.10'], setIdentifier: 'blue', weight: 100 };

  it('creates a weighted record and reports there was none before', async () => {
    const result = await activities['route53.upsert-record'](upsert(blue));
    expect(result).toMatchObject({ changeId: expect.any(String), status: expect.stringMatching(/PENDING|INSYNC/), previous: null, changed: true, verified: true });
    await activities['route53.upsert-record'](upsert({ ...blue, values: ['192.0.2.20'], setIdentifier: 'green', weight: 0 }));
    expect(await weightedRecords('api.example.test.')).toEqual([
      { id: 'blue', weight: 100, values: ['192.0.2.10'] },
      { id: 'green', weight: 0, values: ['192.0.2.20'] },
    ]);
  });

  it('shifts weight and reports the record as it was, for a rollback', async () => {
    const result = await activities['route53.upsert-record'](upsert({ ...blue, weight: 0 }));
    expect(result).toEqual({
      changeId: expect.any(String),
      status: expect.any(String),
      previous: { values: ['192.0.2.10'], ttl: 60, weight: 100, failover: null, healthCheckId: null },
      changed: true,
      verified: true,
    });
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

  it('creates a failover pair, PRIMARY with its health check and SECONDARY, and reads each back', async () => {
    const created = await route53.send(new CreateHealthCheckCommand({
      CallerReference: 'golive-primary', HealthCheckConfig: { Type: 'HTTP', IPAddress: '192.0.2.50', Port: 80, ResourcePath: '/healthz' },
    }));
    const healthCheckId = created.HealthCheck?.Id ?? '';
    const pair = { name: 'orders.example.test', type: 'A', ttl: 30 };
    const primary = await activities['route53.upsert-record'](upsert({ ...pair, values: ['192.0.2.50'], setIdentifier: 'east', failover: 'PRIMARY', healthCheckId }));
    const secondary = await activities['route53.upsert-record'](upsert({ ...pair, values: ['198.51.100.50'], setIdentifier: 'west', failover: 'SECONDARY' }));
    expect([primary, secondary]).toEqual([
      expect.objectContaining({ previous: null, changed: true, verified: true }),
      expect.objectContaining({ previous: null, changed: true, verified: true }),
    ]);
    expect(await failoverRecords('orders.example.test.')).toEqual([
      { id: 'east', failover: 'PRIMARY', healthCheckId, ttl: 30, values: ['192.0.2.50'] },
      { id: 'west', failover: 'SECONDARY', healthCheckId: undefined, ttl: 30, values: ['198.51.100.50'] },
    ]);
  });

  it('fails over by pointing the PRIMARY at the recovery site, reporting the record as it was', async () => {
    const listed = await failoverRecords('orders.example.test.');
    const healthCheckId = listed[0]?.healthCheckId;
    const moved = { name: 'orders.example.test', type: 'A', ttl: 30, values: ['198.51.100.50'], setIdentifier: 'east', failover: 'PRIMARY' };
    const result = await activities['route53.upsert-record'](upsert(moved));
    expect(result).toMatchObject({
      previous: { values: ['192.0.2.50'], ttl: 30, weight: null, failover: 'PRIMARY', healthCheckId },
      changed: true,
      verified: true,
    });
    expect((await failoverRecords('orders.example.test.'))[0]).toEqual({ id: 'east', failover: 'PRIMARY', healthCheckId: undefined, ttl: 30, values: ['198.51.100.50'] });
    expect(await activities['route53.upsert-record'](upsert(moved))).toMatchObject({ changeId: null, changed: false, verified: true });
  });

  it('refuses failover together with weight, and failover without setIdentifier', async () => {
    const record = { name: 'orders.example.test', type: 'A', values: ['192.0.2.50'] };
    await expect(activities['route53.upsert-record'](upsert({ ...record, setIdentifier: 'east', failover: 'PRIMARY', weight: 10 }))).rejects.toMatchObject({
      type: 'InvalidInput',
      nonRetryable: true,
      message: 'route53.upsert-record public-zone (A orders.example.test east): a record is weighted or failover, not both: drop weight or failover',
    });
    await expect(activities['route53.upsert-record'](upsert({ ...record, failover: 'SECONDARY' }))).rejects.toMatchObject({
      type: 'InvalidInput',
      message: 'route53.upsert-record public-zone (A orders.example.test): a failover record (SECONDARY) needs setIdentifier',
    });
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

describe('autoscaling.set-capacity with waitInService', () => {
  const scale = (input: Record<string, unknown>) => activities['autoscaling.set-capacity'](actionRequest('autoscaling.set-capacity', input, { target: workers }));
  const instanceIds = async () => {
    const described = await autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['workers'] }));
    return (described.AutoScalingGroups?.[0]?.Instances ?? []).map((instance) => instance.InstanceId ?? '');
  };
  const setHealth = (instanceId: string, HealthStatus: 'Healthy' | 'Unhealthy') =>
    autoscaling.send(new SetInstanceHealthCommand({ InstanceId: instanceId, HealthStatus }));

  it('reports the instances in service once the desired count is reached', async () => {
    // moto launches the instances of a group with a launch configuration at once, InService and Healthy.
    const result = await scale({ desired: 3, waitInService: '30s' });
    expect(result).toEqual({ previous: { desired: 1, min: 0, max: 6 }, desired: 3, min: 0, max: 6, changed: true, inService: 3, waitedMs: expect.any(Number) });
    expect(result.waitedMs).toBeLessThan(1_000);
  });

  it('waits while an instance is unhealthy, polling every second until it serves', async () => {
    const [first = ''] = await instanceIds();
    await setHealth(first, 'Unhealthy');
    setTimeout(() => void setHealth(first, 'Healthy'), 1_500);
    const result = await scale({ desired: 3, waitInService: '10s' });
    expect(result).toMatchObject({ changed: false, inService: 3 });
    expect(result.waitedMs).toBeGreaterThanOrEqual(1_500);
    expect(result.waitedMs).toBeLessThan(3_500);
  });

  it('fails with NotInService after waitInService, counting what serves and leaving the new capacity', async () => {
    const [first = ''] = await instanceIds();
    await setHealth(first, 'Unhealthy');
    const started = Date.now();
    await expect(scale({ desired: 4, waitInService: '2s' })).rejects.toMatchObject({
      type: 'NotInService',
      nonRetryable: true,
      message: 'autoscaling.set-capacity workers-asg (group workers): 3 of 4 instances in service after 2s (waitInService); ' +
        'the group has 3 InService/Healthy, 1 InService/Unhealthy; its desired capacity stays 4 (it was 3)',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    expect(Date.now() - started).toBeLessThan(3_500);
    const described = await autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['workers'] }));
    expect(described.AutoScalingGroups?.[0]?.DesiredCapacity).toBe(4);
    await setHealth(first, 'Healthy');
  });
});
