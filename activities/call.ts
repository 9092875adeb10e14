import type { z } from 'zod';
import { ACTIONS, type ActionInput, type ActionName } from '../definitions/actions.ts';
import type { Target, TargetOf, TargetType } from '../definitions/targets.ts';
import { resolveTarget, type Environment } from '../definitions/targets.ts';
import { DENY_OWN_VARIABLES, type TargetEnvPolicy } from '../definitions/target-env.ts';
import { businessFailure } from '../definitions/failures.ts';
import type { ActionRequest } from './types.ts';

/** A target as the action sees it: `${VAR}` resolved. */
export interface ResolvedTarget<T extends TargetType> {
  name: string;
  spec: TargetOf<T>;
}

/** One action call with its typed input; modules implement actions as functions of this. */
export interface ActionCall<A extends ActionName> {
  action: A;
  input: ActionInput<A>;
  request: ActionRequest;
  env: Environment;
  /** Which `${NAME}` targets may resolve on this worker (ActionDeps.targetEnv). */
  targetEnv: TargetEnvPolicy;
}

/** The catalog seen through a mapped type, so indexing it with a generic name keeps the input type. */
const WITH_SCHEMAS: { [A in ActionName]: { with: z.ZodType<ActionInput<A>> } } = ACTIONS;

/** `targetEnv` defaults to refusing golive's own variables only: a worker passes its ActionDeps.targetEnv. */
export function parseInput<A extends ActionName>(
  action: A,
  request: ActionRequest,
  env: Environment,
  targetEnv: TargetEnvPolicy = DENY_OWN_VARIABLES,
): ActionCall<A> {
  const parsed = WITH_SCHEMAS[action].with.safeParse(request.with);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `with.${issue.path.join('.')}: ${issue.message}`);
    throw businessFailure(`${action} step ${request.stepId}: ${problems.join('; ')}`, 'InvalidInput');
  }
  return { action, input: parsed.data, request, env, targetEnv };
}

function isTargetOf<T extends TargetType>(spec: Target, type: T): spec is TargetOf<T> {
  return spec.type === type;
}

/** The step's own target, checked to be of `type` and resolved. */
export function stepTarget<T extends TargetType>(call: ActionCall<ActionName>, type: T): ResolvedTarget<T> {
  const target = call.request.target;
  if (target === undefined) {
    throw businessFailure(`${call.action} step ${call.request.stepId} has no target: it needs a ${type} target`, 'InvalidTarget');
  }
  return checked(call, target.name, target.spec, type);
}

/** Another target named by a `with` field (a catalog targetRef), checked and resolved. */
export function referencedTarget<T extends TargetType>(call: ActionCall<ActionName>, name: string, type: T): ResolvedTarget<T> {
  const spec = call.request.targets[name];
  if (spec === undefined) {
    throw businessFailure(`${call.action} step ${call.request.stepId}: target ${name} was not passed to the step`, 'InvalidTarget');
  }
  return checked(call, name, spec, type);
}

function checked<T extends TargetType>(call: ActionCall<ActionName>, name: string, spec: Target, type: T): ResolvedTarget<T> {
  if (!isTargetOf(spec, type)) {
    throw businessFailure(`${call.action} cannot act on target ${name}: it is a ${spec.type} target, not ${type}`, 'InvalidTarget');
  }
  return { name, spec: resolveTarget(name, spec, call.env, call.targetEnv) };
}
