import { condition, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.ts';
import type { ActionRequest } from '../activities/types.ts';
import { failedAssertions } from '../definitions/assertions.ts';
import { durationMs } from '../definitions/duration.ts';
import type { ActionStep, ApprovalStep, PauseStep, Step } from '../definitions/schema.ts';
import { render } from '../definitions/templates.ts';
import type { StepState } from './definitions.ts';
import { StepFailure } from './failures.ts';
import { actionOptions } from './presets.ts';
import type { RunbookRun } from './runbook-run.ts';

/** What each kind of step does while it runs: an action, an approval gate, a pause. */

type Activities = ReturnType<typeof createActivities>;
export type Phase = StepState['phase'];

const now = () => new Date().toISOString();

/** Runs an action step's activity with its placeholders filled in, then checks its assertions. */
export async function performAction(run: RunbookRun, step: ActionStep, phase: Phase): Promise<unknown> {
  const { targets } = run.runbook.spec;
  const idempotencyKey = `${run.state.runId}:${step.id}`;
  const request: ActionRequest = {
    runId: run.state.runId,
    stepId: step.id,
    idempotencyKey,
    target: step.target === undefined ? undefined : { name: step.target, spec: targets[step.target]! },
    targets: Object.fromEntries(step.targetRefs.map((name) => [name, targets[name]!])),
    with: render(step.with, {
      run: { id: run.state.runId, requestedBy: run.state.requestedBy },
      step: { id: step.id },
      idempotencyKey,
      steps: run.results,
    }),
  };
  const activities = proxyActivities<Activities>(actionOptions(step, phase));
  const result = await activities[step.action](request);
  const failures = failedAssertions(step.assert, result);
  if (failures.length > 0) throw new StepFailure(failures.join('; '));
  return result;
}

/** Waits for a decision on a gate; a gate without one by its timeout closes at once. */
export async function awaitApproval(run: RunbookRun, step: ApprovalStep): Promise<unknown> {
  const timeoutMs = durationMs(step.approval.timeout);
  const since = now();
  run.state.gate = {
    stepId: step.id, approvers: step.approval.approvers, message: step.approval.message,
    since, deadline: new Date(Date.parse(since) + timeoutMs).toISOString(),
  };
  const decided = await condition(() => run.decisions.has(step.id), timeoutMs).finally(() => delete run.state.gate);
  const decision = run.decisions.get(step.id);
  if (!decided && !decision) {
    // Closed before anything else runs: an approval still being judged is refused.
    run.closedGates.set(step.id, `it timed out at ${now()} after ${step.approval.timeout} without a decision`);
    run.record('approval.timed-out', { stepId: step.id, detail: { timeout: step.approval.timeout } });
    throw new StepFailure(`approval gate ${step.id} had no decision within ${step.approval.timeout}`, true);
  }
  if (decision!.decision === 'rejected') {
    throw new StepFailure(`rejected by ${decision!.actor}${decision!.comment ? `: ${decision!.comment}` : ''}`, true);
  }
  return { approvedBy: decision!.actor, comment: decision!.comment };
}

/** Holds the run for the pause's duration, or until someone resumes it. */
export async function awaitPause(run: RunbookRun, step: PauseStep): Promise<unknown> {
  run.resumeRequested = false;
  const limit = step.pause.duration === undefined ? undefined : durationMs(step.pause.duration);
  const span = { from: now(), stepId: step.id };
  run.state.pauses.push(span);
  try {
    const resumed = await condition(() => run.resumeRequested, limit);
    return { resumedEarly: limit === undefined ? true : resumed };
  } finally {
    Object.assign(span, { to: now() });
    run.resumeRequested = false;
  }
}

export function initialState(step: Step, phase: Phase): StepState {
  return { id: step.id, kind: step.kind, phase, action: step.kind === 'action' ? step.action : undefined, status: 'pending' };
}

export function startDetail(step: Step): Record<string, unknown> | undefined {
  if (step.kind === 'approval') return { approvers: step.approval.approvers, timeout: step.approval.timeout, message: step.approval.message };
  if (step.kind === 'pause') return { duration: step.pause.duration ?? 'until resumed', reason: step.pause.reason };
  return { action: step.action, target: step.target };
}
