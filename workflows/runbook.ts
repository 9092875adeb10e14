import { allHandlersFinished, ApplicationFailure, condition, workflowInfo } from '@temporalio/workflow';
import { registerControls } from './controls.ts';
import type { RunbookRunInput, RunState } from './definitions.ts';
import { RunbookRun } from './runbook-run.ts';

/**
 * Interprets a runbook: action steps, approval gates and pauses in order; on failure or abort,
 * compensations in reverse. State is the `state` query; controls are updates (controls.ts).
 * A run that did not succeed ends the workflow as failed, with its final state as details.
 */
export async function runbookWorkflow(input: RunbookRunInput): Promise<RunState> {
  const run = new RunbookRun(input, workflowInfo().workflowId);
  registerControls(run);
  await run.execute();
  await condition(allHandlersFinished);
  if (run.state.status !== 'succeeded') {
    throw ApplicationFailure.create({
      message: `run ${run.state.runId} ${run.state.status}: ${run.state.reason ?? 'no reason recorded'}`,
      type: run.state.status === 'aborted' ? 'RunAborted' : 'RunFailed',
      nonRetryable: true,
      details: [run.state],
    });
  }
  return run.state;
}
