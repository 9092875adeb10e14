import { workflowInfo } from '@temporalio/workflow';
import { failoverRecord } from '../definitions/failover-record.ts';
import { registerControls } from './controls.ts';
import type { FailoverRecord, FailoverRunInput } from './definitions.ts';
import { RunbookRun } from './runbook-run.ts';
import { closeRun, finishWorkflow } from './runbook.ts';

/**
 * A failover (or a failover drill): the runbook's steps, started only by an incident commander.
 * Its record (T_d, exposure, fencing, promotion, recovery through the switched path) travels with
 * every audit batch, so `golive failover status` follows it live; once a promotion may have
 * happened, a failure or abort stops and reports instead of rolling back.
 */
export async function failoverWorkflow(input: FailoverRunInput): Promise<FailoverRecord> {
  const run = new RunbookRun(input, workflowInfo().workflowId, {
    kind: 'failover',
    requiredRole: 'incident-commander',
    records: (current) => ({ failover: failoverRecord(input, current.state) }),
  });
  registerControls(run);
  await run.execute();
  await closeRun(run);
  const record = failoverRecord(input, run.state);
  finishWorkflow(run.state, record);
  return record;
}
