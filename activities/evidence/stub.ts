import { businessFailure } from '../../definitions/failures.ts';

/** Placeholder while an action is being written. */
export async function notYet(name: string): Promise<Record<string, unknown>> {
  throw businessFailure(`${name} is not available yet`, 'NotImplemented');
}
