import type { Role } from '../definitions/roles.ts';
import type { ApprovalStep, Step } from '../definitions/schema.ts';
import type { RunKind, RunState } from './definitions.ts';
import type { RunRecords } from './projection.ts';
import type { RunbookRun } from './runbook-run.ts';

/** What makes a run of the engine a backup, a drill, a failover or a rollout: its hooks into RunbookRun. */
export interface RunOptions {
  kind: RunKind;
  /**
   * Judges a run whose steps all succeeded; a returned reason fails it (a drill that restored
   * fine but missed its RPO). Nothing is rolled back for a verdict: every step did its work.
   */
  verdict?: (state: RunState) => string | undefined;
  /** A role the requester must hold when the run starts (checked on the worker in pre-flight). */
  requiredRole?: Role;
  /** The kind's own record as the run stands now (a failover's, a rollout's), sent with every audit batch. */
  records?: (run: RunbookRun) => RunRecords;
  /** What a gate nobody decided by its timeout does: fail the run (the default) or go on as if approved. */
  onGateTimeout?: (step: ApprovalStep) => 'fail' | 'approve';
  /**
   * Which of the compensations due run, given in the order they would run (newest first): all of
   * them by default; a rollout back to the previous phase runs only the newest.
   */
  selectRollback?: (compensations: Step[], cause: 'failed' | 'aborted') => Step[];
  /** Work before the first step, after pre-flight (a rollout's checklist gate); a returned reason fails the run. */
  before?: (run: RunbookRun) => Promise<string | undefined>;
}
