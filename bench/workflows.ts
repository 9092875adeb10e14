/**
 * Workflows for the orchestration benchmark: golive's runbook workflow, and the raw baseline
 * it is compared with — the same no-op activity called in a plain loop, nothing else.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.ts';

export { runbookWorkflow } from '../workflows/runbook.ts';
export { backupWorkflow } from '../workflows/backup.ts';
export { drillWorkflow } from '../workflows/drill.ts';
export { auditCatchUpWorkflow } from '../workflows/audit-catch-up.ts';

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
