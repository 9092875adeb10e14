import { awsRefusal, businessFailure, rethrow } from '../../definitions/failures.ts';
import { deadlineSignal } from '../context.ts';

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

export async function send<T>(context: string, request: (signal: AbortSignal) => Promise<T>): Promise<T> {
  try {
    return await request(deadlineSignal(60_000));
  } catch (error) {
    rethrowAws(error, context);
  }
}
