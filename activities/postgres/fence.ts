import type { ActionCall } from '../call.ts';

/** Stops an old primary from accepting writes. */
export async function fence(_call: ActionCall<'postgres.fence'>): Promise<Record<string, unknown>> {
  throw new Error('postgres.fence is not built yet');
}

/** Lets a fenced primary accept writes again. */
export async function unfence(_call: ActionCall<'postgres.unfence'>): Promise<Record<string, unknown>> {
  throw new Error('postgres.unfence is not built yet');
}
