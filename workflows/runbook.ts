import { allHandlersFinished, ApplicationFailure, CancellationScope, condition, workflowInfo } from '@temporalio/workflow';
import { registerControls } from './controls.ts';
import type { DrillRecord, RunbookRunInput, RunState } from './definitions.ts';
import { RunbookRun } from './runbook-run.ts';

/**
 * Interprets a runbook: pre-flight, then action steps, approval gates and pauses in order; on
 * failure or abort, compensations in reverse. State is the `state` query; controls are updates
 * (controls.ts). A run that did not succeed ends the workflow as failed, with its final state as
 * details.
 */
export async function runbookWorkflow(input: RunbookRunInput): Promise<RunState> {
  const run = new RunbookRun(input, workflowInfo().workflowId);
  registerControls(run);
  await run.execute();
  await closeRun(run);
  return finishWorkflow(run.state);
}

/**
 * Lets controls still being judged finish (they are refused: the run is over), then hands the
 * audit trail's last writes over. True when they were written by this workflow.
 */
export function closeRun(run: RunbookRun, announce?: DrillRecord, announceChannel?: string): Promise<boolean> {
  return CancellationScope.nonCancellable(async () => {
    await condition(allHandlersFinished);
    return run.projection.close({ announce, announceChannel });
  });
}

/** Returns the state of a run that succeeded, or fails the workflow with it. */
export function finishWorkflow(state: RunState, details: unknown = state): RunState {
  if (state.status !== 'succeeded') {
    throw ApplicationFailure.create({
      message: `run ${state.runId} ${state.status}: ${state.reason ?? 'no reason recorded'}`,
      type: state.status === 'aborted' ? 'RunAborted' : 'RunFailed',
      nonRetryable: true,
      details: [details],
    });
  }
  return state;
}
