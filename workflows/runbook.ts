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
  return finishWorkflow(run.state);
}

/** Waits for handlers, then returns the state of a run that succeeded or fails the workflow with it. */
export async function finishWorkflow(state: RunState, details: unknown = state): Promise<RunState> {
  await condition(allHandlersFinished);
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
