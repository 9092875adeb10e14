import { ActivityCancellationType, type ActivityOptions, type LocalActivityOptions } from '@temporalio/workflow';
import { durationMs } from '../definitions/duration.ts';
import type { ActionStep } from '../definitions/schema.ts';

/** Timeouts and retries, named once. A step's own `timeout` / `retries` override the action defaults. */
export const PRESETS = {
  /** Audit writes retry without limit: a run never moves on without its audit row. */
  auditWrite: {
    startToCloseTimeout: '10s',
    retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s' },
  } satisfies LocalActivityOptions,
  /** golive's own records and notifications after a run: retried until they land, a few minutes at most each. */
  bookkeeping: {
    startToCloseTimeout: '1m',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 20 },
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
  /** An action step unless the runbook says otherwise. */
  action: { timeoutMs: 5 * 60_000, retries: 2 },
  actionRetry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
  /** Actions that heartbeat while they work: a dead worker is noticed within this, not at the step timeout. */
  heartbeat: { timeout: '30s', actions: ['postgres.dump', 'postgres.restore', 'postgres.promote', 'http.burst', 'backup.create', 'backup.verify-checksum', 'backup.restore', 'drill.verify', 'drill.health'] as readonly string[] },
} as const;

export function actionOptions(step: ActionStep, phase: 'steps' | 'rollback'): ActivityOptions {
  const heartbeats = PRESETS.heartbeat.actions.includes(step.action);
  return {
    activityId: `${phase}:${step.id}`,
    startToCloseTimeout: step.timeout ? durationMs(step.timeout) : PRESETS.action.timeoutMs,
    retry: { ...PRESETS.actionRetry, maximumAttempts: (step.retries ?? PRESETS.action.retries) + 1 },
    heartbeatTimeout: heartbeats ? PRESETS.heartbeat.timeout : undefined,
    // A cancelled restore must have stopped before the rollback drops what it was writing into;
    // these actions hear of the cancellation at their next heartbeat.
    cancellationType: heartbeats ? ActivityCancellationType.WAIT_CANCELLATION_COMPLETED : ActivityCancellationType.TRY_CANCEL,
  };
}
