/**
 * Workflows the benchmarks run: golive's own (runbook, backup, drill, failover, rollout), and the raw
 * baseline of the orchestration benchmark — the same no-op activity called in a plain loop.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.ts';

export { runbookWorkflow } from '../workflows/runbook.ts';
export { backupWorkflow } from '../workflows/backup.ts';
export { drillWorkflow } from '../workflows/drill.ts';
export { failoverWorkflow } from '../workflows/failover.ts';
export { auditCatchUpWorkflow } from '../workflows/audit-catch-up.ts';
export { rolloutWorkflow } from '../workflows/rollout.ts';

const { noop } = proxyActivities<ReturnType<typeof createActivities>>({ startToCloseTimeout: '1m' });

/** Calls noop `steps` times; returns the workflow time after each call. */
export async function rawActivitiesWorkflow(steps: number): Promise<number[]> {
  const marks = [Date.now()];
  for (let step = 0; step < steps; step += 1) {
    await noop({ runId: 'raw', stepId: `step-${step}`, idempotencyKey: `raw:${step}`, targets: {}, with: {} });
    marks.push(Date.now());
  }
  return marks;
}
