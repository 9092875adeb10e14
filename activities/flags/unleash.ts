import { businessFailure } from '../../definitions/failures.ts';
import type { TargetOf } from '../../definitions/targets.ts';
import type { FlagProvider } from './provider.ts';

/** Unleash through its Admin API: the flag's flexibleRollout strategy in one environment. (Being written.) */
export function unleashProvider(target: { name: string; spec: TargetOf<'unleash'> }): FlagProvider {
  const missing = async (): Promise<never> => {
    throw businessFailure(`target ${target.name}: the Unleash provider is not available yet`, 'NotImplemented');
  };
  return { setRollout: missing, read: missing };
}
