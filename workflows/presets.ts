import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';
import { durationMs } from '../definitions/duration.ts';
import type { ActionStep } from '../definitions/schema.ts';

/** Timeouts and retries, named once. A step's own `timeout` / `retries` override the action defaults. */
export const PRESETS = {
  /**
   * Writing the audit trail to golive's Postgres. Temporal retries the activity on the server,
   * which adds nothing to the history however long Postgres is away; the run never waits for it.
   */
  projection: {
    startToCloseTimeout: '10s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', nonRetryableErrorTypes: ['AuditConflict'] },
  } satisfies ActivityOptions,
  /** How long a finished run waits for its last audit write before a catch-up workflow takes it over. */
  projectionGraceMs: 5_000,
  /**
   * The roles of the person behind a control, from the worker's configuration. Quick and
   * bounded: a control that cannot be judged is refused, and the run goes on. A regular
   * activity, not a local one: a local activity holds the workflow task open, and every other
   * control (an abort) would wait behind it.
   */
  roleLookup: {
    scheduleToCloseTimeout: '15s',
    startToCloseTimeout: '5s',
    retry: { initialInterval: '200ms', maximumAttempts: 3 },
  } satisfies ActivityOptions,
  /** Pre-flight resolves targets and looks up approvers; a few quick tries, then the run fails before any step. */
  preflight: {
    startToCloseTimeout: '30s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3 },
  } satisfies ActivityOptions,
  /**
   * Posting a drill result: the notifier retries rate limits itself (Retry-After up to 30s, four
   * tries), so one attempt may take minutes; the drill record keeps the posted message, so a
   * retry after a post that landed does not post again.
   */
  notify: {
    startToCloseTimeout: '4m',
    retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '2m', maximumAttempts: 5 },
  } satisfies ActivityOptions,
  /**
   * One evaluation of a rollout's guards: a single quick attempt. A missing answer is inconclusive
   * and the next tick asks again; retrying here would only delay the verdict.
   */
  guards: {
    startToCloseTimeout: '20s',
    retry: { maximumAttempts: 1 },
  } satisfies ActivityOptions,
  /**
   * Bringing a run's Slack message up to date. Heartbeats notice a dead worker within seconds;
   * a few minutes of tries, then the next event tries again; Slack's refusals end the mirroring.
   */
  runMessage: {
    startToCloseTimeout: '15s',
    heartbeatTimeout: '5s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 8, nonRetryableErrorTypes: ['SlackRejected'] },
  } satisfies ActivityOptions,
  /** How long a finished run waits for its Slack message to show how it ended. */
  runMessageGraceMs: 10_000,
  /** An action step unless the runbook says otherwise. */
  action: { timeoutMs: 5 * 60_000, retries: 2 },
  actionRetry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
  /** Every action heartbeats each second: a dead worker is noticed within this, not at the step timeout. */
  heartbeatTimeout: '30s',
} as const;

export function actionOptions(step: ActionStep, phase: 'steps' | 'rollback'): ActivityOptions {
  return {
    activityId: `${phase}:${step.id}`,
    startToCloseTimeout: step.timeout ? durationMs(step.timeout) : PRESETS.action.timeoutMs,
    retry: { ...PRESETS.actionRetry, maximumAttempts: (step.retries ?? PRESETS.action.retries) + 1 },
    heartbeatTimeout: PRESETS.heartbeatTimeout,
    // An abort or skip waits until the action has really stopped: what it may have changed is
    // known before the compensations run.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  };
}
