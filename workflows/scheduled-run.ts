import { ParentClosePolicy, executeChild, workflowInfo } from '@temporalio/workflow';
import { scheduledRunId, type ScheduledRunInput } from './definitions.ts';

/**
 * Started by a backup, drill or failover-drill schedule under the id Temporal gives it (with the scheduled
 * time, colons and all). Starts the run under a run id like every other and waits for it, so a run still
 * going makes the schedule skip the next one.
 */
export async function scheduledRunWorkflow(input: ScheduledRunInput): Promise<unknown> {
  const { workflowId, firstExecutionRunId } = workflowInfo();
  return executeChild(input.workflowType, {
    workflowId: scheduledRunId(workflowId, firstExecutionRunId),
    args: [input.run],
    parentClosePolicy: ParentClosePolicy.ABANDON,
  });
}
