import { ActivityFailure, ApplicationFailure, CancelledFailure, TimeoutFailure } from '@temporalio/workflow';

/** A step failed for a reason the workflow decided (an assertion, a rejection, a timeout). */
export class StepFailure extends Error {
  override name = 'StepFailure';
  /** True when the event that ends the step is already in the audit trail. */
  constructor(message: string, readonly recorded = false) {
    super(message);
  }
}

/** The reason a user should read for a failed step: the activity's own message, not the wrapper's. */
export function describeFailure(error: unknown): string {
  if (error instanceof ActivityFailure) {
    const cause = error.cause;
    if (cause instanceof TimeoutFailure) return `timed out (${(cause.timeoutType ?? 'activity').toLowerCase().replaceAll('_', '-')}) on every attempt`;
    if (cause instanceof ApplicationFailure && cause.type) return `${cause.message} [${cause.type}]`;
    return cause?.message ?? error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** What an interrupted action reported when it stopped (its last heartbeat details), if anything. */
export function interruptedDetails(error: unknown): unknown {
  const cause = error instanceof ActivityFailure ? error.cause : undefined;
  return cause instanceof CancelledFailure ? cause.details[0] : undefined;
}
