// What can go wrong, by whose doing: the CLI's exit codes and the API's status codes both come from these.

/** A mistake the user can fix; the CLI prints its message without a stack trace. */
export class UserError extends Error {
  override name = 'UserError';
}

/** The run, schedule or record named does not exist (HTTP 404). */
export class NotFoundError extends UserError {
  override name = 'NotFoundError';
}

/** The actor may not do this: four-eyes, a role the gate needs, not the requester (HTTP 403). Nothing changed. */
export class ControlForbidden extends UserError {
  override name = 'ControlForbidden';
}

/** The run is not in a state where the control means anything: finished, gate decided or closed (HTTP 409). Nothing changed. */
export class ControlConflict extends UserError {
  override name = 'ControlConflict';
}

/** golive's stack did not answer: Temporal unreachable, or no worker polls the task queue (HTTP 503). */
export class StackUnavailable extends Error {
  override name = 'StackUnavailable';
}

/** Exit codes of every golive command: 0 ok, 1 the thing failed, 2 the user's mistake, 3 golive could not reach its stack. */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

/** The stable code and exit code of a failure, shared by the CLI's `--json` errors and the API's error bodies. */
export function describeFailure(error: unknown): { code: string; exitCode: number } {
  if (error instanceof NotFoundError) return { code: 'not_found', exitCode: EXIT.usage };
  if (error instanceof ControlForbidden) return { code: 'forbidden', exitCode: EXIT.usage };
  if (error instanceof ControlConflict) return { code: 'conflict', exitCode: EXIT.usage };
  if (error instanceof UserError) return { code: 'bad_request', exitCode: EXIT.usage };
  if (error instanceof StackUnavailable) return { code: 'unavailable', exitCode: EXIT.unreachable };
  return { code: 'failed', exitCode: EXIT.failed };
}
