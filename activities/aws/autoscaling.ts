import { setTimeout as delay } from 'node:timers/promises';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, UpdateAutoScalingGroupCommand, type AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import { z } from 'zod';
import { awsClientConfig } from '../../config/aws.ts';
import { durationMs } from '../../definitions/duration.ts';
import { businessFailure } from '../../definitions/failures.ts';
import type { Environment } from '../../definitions/targets.ts';
import { stepTarget, type ActionCall } from '../call.ts';
import { cancellationSignal, heartbeat, previousAttempt } from '../context.ts';
import { send } from './request.ts';

const Capacity = z.object({ desired: z.number(), min: z.number(), max: z.number() });
type Capacity = z.infer<typeof Capacity>;

/**
 * Sets the desired capacity (and min/max when given) of an Auto Scaling group. `previous` is
 * the group's capacity before this step's first attempt, so a rollback can restore it. With
 * `waitInService`, it then waits until the desired number of instances is in service.
 */
export async function setCapacity(env: Environment, call: ActionCall<'autoscaling.set-capacity'>) {
  const target = stepTarget(call, 'autoscaling');
  const group = target.spec.groupName;
  const context = `autoscaling.set-capacity ${target.name} (group ${group})`;
  const client = new AutoScalingClient(awsClientConfig(env, target.spec.region));
  try {
    const result = await updateCapacity(client, call, group, context);
    const { waitInService } = call.input;
    if (waitInService === undefined) return result;
    return { ...result, ...(await untilInService(client, group, result, waitInService, context)) };
  } finally {
    client.destroy();
  }
}

async function describeGroup(client: AutoScalingClient, group: string, context: string): Promise<AutoScalingGroup> {
  const described = await send(context, (abortSignal) =>
    client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] }), { abortSignal }),
  );
  const found = described.AutoScalingGroups?.find((entry) => entry.AutoScalingGroupName === group);
  if (!found) throw businessFailure(`${context}: no Auto Scaling group named ${group}`, 'NotFound');
  return found;
}

async function updateCapacity(client: AutoScalingClient, call: ActionCall<'autoscaling.set-capacity'>, group: string, context: string) {
  const found = await describeGroup(client, group, context);
  const current: Capacity = { desired: found.DesiredCapacity ?? 0, min: found.MinSize ?? 0, max: found.MaxSize ?? 0 };
  const previous = previousAttempt(z.object({ previous: Capacity }))?.previous ?? current;
  // Known before anything changes: a retry, or the compensation of an interrupted step, restores it.
  heartbeat({ previous });
  const wanted: Capacity = { desired: call.input.desired, min: call.input.min ?? current.min, max: call.input.max ?? current.max };
  checkCapacity(wanted, context);
  if (JSON.stringify(current) === JSON.stringify(wanted)) return { previous, ...wanted, changed: false };
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

const IN_SERVICE_POLL_MS = 1_000;

/** Instances counted as serving: InService, and Healthy where a health status is reported. */
function serving(group: AutoScalingGroup): number {
  return (group.Instances ?? []).filter((instance) => instance.LifecycleState === 'InService' && (instance.HealthStatus ?? 'Healthy') === 'Healthy').length;
}

/** `2 InService/Healthy, 1 Pending`: the group's instances by state (sorted), for messages. */
function instanceStates(group: AutoScalingGroup): string {
  const counts = new Map<string, number>();
  for (const instance of group.Instances ?? []) {
    const state = `${instance.LifecycleState ?? 'unknown'}${instance.HealthStatus ? `/${instance.HealthStatus}` : ''}`;
    counts.set(state, (counts.get(state) ?? 0) + 1);
  }
  const sorted = [...counts].sort(([left], [right]) => left.localeCompare(right));
  return sorted.map(([state, count]) => `${count} ${state}`).join(', ') || 'no instances';
}

/**
 * Describes the group every second until `desired` instances serve, for at most `within`;
 * heartbeats meanwhile (with `previous`, what a compensation needs) and stops when cancelled.
 * Running out of time leaves the new capacity in place and says so.
 */
async function untilInService(client: AutoScalingClient, group: string, set: { previous: Capacity; desired: number }, within: string, context: string) {
  const { previous, desired } = set;
  const cancelled = cancellationSignal();
  const started = Date.now();
  const deadline = started + durationMs(within);
  for (;;) {
    const found = await describeGroup(client, group, context);
    const inService = serving(found);
    if (inService >= desired) return { inService, waitedMs: Date.now() - started };
    heartbeat({ previous, inService });
    const left = deadline - Date.now();
    if (left <= 0) {
      const capacity = previous.desired === desired ? `was already ${desired}` : `stays ${desired} (it was ${previous.desired})`;
      throw businessFailure(
        `${context}: ${inService} of ${desired} instances in service after ${within} (waitInService); ` +
          `the group has ${instanceStates(found)}; its desired capacity ${capacity}`,
        'NotInService',
      );
    }
    await delay(Math.min(IN_SERVICE_POLL_MS, left), undefined, { signal: cancelled }).catch((error: unknown) => {
      throw cancelled?.aborted ? cancelled.reason : error;
    });
  }
}
