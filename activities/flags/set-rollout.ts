import { businessFailure, rethrow } from '../../definitions/failures.ts';
import { referencedTarget, type ActionCall } from '../call.ts';
import type { ActionDeps } from '../types.ts';
import type { FlagProvider } from './provider.ts';
import { unleashProvider } from './unleash.ts';

/** The audit channel of a change a run made: not a person's channel, the run id says which run. */
const RUN_CHANNEL = 'run';

/** The provider the step names: golive's own flags (the worker's store) or the Unleash target in `with.unleash`. */
function providerFor(deps: ActionDeps, call: ActionCall<'flag.set-rollout'>): FlagProvider {
  const { provider, unleash, key } = call.input;
  if (provider === 'unleash') {
    if (unleash === undefined) {
      throw businessFailure(`flag.set-rollout step ${call.request.stepId}: provider unleash needs with.unleash, the name of an unleash target`, 'InvalidInput');
    }
    return unleashProvider(referencedTarget(call, unleash, 'unleash'));
  }
  if (!deps.flags) {
    throw businessFailure(`cannot set built-in flag ${key}: this worker has no flag store (golive's Postgres); run the step on a golive worker`, 'FlagFailed');
  }
  return deps.flags;
}

/**
 * Sets a flag's rollout percentage and reports from → to. Keyed by the step's idempotency key: a
 * retry after a lost answer reports the first attempt's change and changes nothing again. The
 * actor is the person the run acts for (`with.actor`), else golive itself.
 */
export async function setRollout(deps: ActionDeps, call: ActionCall<'flag.set-rollout'>) {
  const { key, environment, percent, provider: kind } = call.input;
  const provider = providerFor(deps, call);
  const change = {
    key, environment, percent, actor: call.input.actor ?? 'golive', channel: RUN_CHANNEL, runId: call.request.runId, idempotencyKey: call.request.idempotencyKey,
  };
  try {
    const result = await provider.setRollout(change);
    return { provider: kind, key: result.key, environment: result.environment, from: result.from, to: result.to, changed: result.changed };
  } catch (error) {
    rethrow(error, `cannot set ${kind} flag ${key} in ${environment} to ${percent}%`, 'FlagFailed');
  }
}
