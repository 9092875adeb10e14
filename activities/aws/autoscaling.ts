import { AutoScalingClient, DescribeAutoScalingGroupsCommand, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { z } from 'zod';
import { awsClientConfig } from '../../config/aws.ts';
import { businessFailure } from '../../definitions/failures.ts';
import type { Environment } from '../../definitions/targets.ts';
import { stepTarget, type ActionCall } from '../call.ts';
import { heartbeat, previousAttempt } from '../context.ts';
import { send } from './request.ts';

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
