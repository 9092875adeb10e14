import type { ActionName } from '../../definitions/actions.ts';
import { businessFailure } from '../../definitions/failures.ts';
import type { StoreTarget } from '../../backups/store.ts';
import { referencedTarget, stepTarget, type ActionCall } from '../call.ts';

/** Backup stores as action targets: a step's own store, or one a `with` field names. */

const STORE_TYPES = ['filesystem', 's3'] as const;

function storeType(call: ActionCall<ActionName>, name: string, type: string | undefined): 'filesystem' | 's3' {
  if (type === 'filesystem' || type === 's3') return type;
  const found = type === undefined ? 'not passed to the step' : `a ${type} target`;
  throw businessFailure(`${call.action} step ${call.request.stepId}: backup store ${name} is ${found}, not ${STORE_TYPES.join(' or ')}`, 'InvalidTarget');
}

/** The step's own target as a backup store (filesystem or s3), resolved. */
export function stepStore(call: ActionCall<ActionName>): StoreTarget {
  const target = call.request.target;
  const type = storeType(call, target?.name ?? '(none)', target?.spec.type);
  return type === 's3' ? stepTarget(call, 's3') : stepTarget(call, 'filesystem');
}

/** The backup store named by a `with` field, resolved. */
export function referencedStore(call: ActionCall<ActionName>, name: string): StoreTarget {
  const type = storeType(call, name, call.request.targets[name]?.type);
  return type === 's3' ? referencedTarget(call, name, 's3') : referencedTarget(call, name, 'filesystem');
}
