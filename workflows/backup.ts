import { workflowInfo } from '@temporalio/workflow';
import { backupPlan } from '../definitions/protection-plans.ts';
import { registerControls } from './controls.ts';
import type { ProtectionRunInput, RunState } from './definitions.ts';
import { RunbookRun } from './runbook-run.ts';
import { closeRun, finishWorkflow } from './runbook.ts';

/** One backup of a runbook's service: pg_dump into the store with its manifest, then retention. */
export async function backupWorkflow(input: ProtectionRunInput): Promise<RunState> {
  const runId = workflowInfo().workflowId;
  const run = new RunbookRun({ ...input, runbook: backupPlan(input.runbook, runId) }, runId, { kind: 'backup' });
  registerControls(run);
  await run.execute();
  await closeRun(run);
  return finishWorkflow(run.state);
}
