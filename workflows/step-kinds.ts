import { condition, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.ts';
import type { ActionRequest } from '../activities/types.ts';
import { failedAssertions } from '../definitions/assertions.ts';
import { durationMs } from '../definitions/duration.ts';
import type { ActionStep, ApprovalStep, PauseStep, RunPlan, Step } from '../definitions/schema.ts';
import { exposureProblem, readExposure } from '../definitions/failover-record.ts';
import { render } from '../definitions/templates.ts';
import type { Target } from '../definitions/targets.ts';
import type { RunState, StepState } from './definitions.ts';
import { describeFailure, StepFailure } from './failures.ts';
import { actionOptions, PRESETS } from './presets.ts';
import type { RunbookRun } from './runbook-run.ts';

/** What each kind of step does while it runs: an action, an approval gate, a pause. */

type Activities = ReturnType<typeof createActivities>;
const { preflight } = proxyActivities<Activities>(PRESETS.preflight);
export type Phase = StepState['phase'];

const now = () => new Date().toISOString();

/** What an action step's activity is sent: its targets as written (resolved on the worker) and `with` with placeholders filled in. */
export function actionRequest(
  step: ActionStep,
  run: { runId: string; requestedBy: string; service: string; targets: Record<string, Target>; results: Record<string, unknown> },
): ActionRequest {
  const idempotencyKey = `${run.runId}:${step.id}`;
  return {
    runId: run.runId,
    stepId: step.id,
    idempotencyKey,
    target: step.target === undefined ? undefined : { name: step.target, spec: run.targets[step.target]! },
    targets: Object.fromEntries(step.targetRefs.map((name) => [name, run.targets[name]!])),
    with: render(step.with, {
      run: { id: run.runId, requestedBy: run.requestedBy, service: run.service },
      step: { id: step.id },
      idempotencyKey,
      steps: run.results,
    }),
  };
}

/** Runs an action step's activity with its placeholders filled in, then checks its assertions. */
export async function performAction(run: RunbookRun, step: ActionStep, phase: Phase): Promise<unknown> {
  const { runId, requestedBy, service } = run.state;
  const request = actionRequest(step, { runId, requestedBy, service, targets: run.runbook.spec.targets, results: run.results });
  const activities = proxyActivities<Activities>(actionOptions(step, phase));
  const result = await activities[step.action](request);
  const failures = failedAssertions(step.assert, result);
  if (failures.length > 0) throw new StepFailure(failures.join('; '));
  if (step.action === 'postgres.replication-lag' && phase === 'steps') judgeExposure(run, step, result);
  return result;
}

/**
 * Data a failover would lose now, against the RPO objective: more fails the step, unless the
 * requester forced the run, which is recorded with both numbers.
 */
function judgeExposure(run: RunbookRun, step: ActionStep, result: unknown): void {
  const exposure = readExposure(result);
  if (exposure === undefined) return;
  const rpo = run.runbook.spec.objectives?.rpo;
  if (rpo === undefined) return;
  const problem = exposureProblem(exposure, rpo);
  if (problem === undefined) return;
  if (run.input.force === undefined) {
    throw new StepFailure(`${problem}. A failover now may lose more data than ${run.state.service} allows; to go on anyway, start it again with --force "why"`);
  }
  run.record('exposure.forced', { actor: run.state.requestedBy, stepId: step.id, detail: { reason: run.input.force, problem, exposure, rpo } });
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
  if (!decided && !decision && run.options.onGateTimeout?.(step) === 'approve') {
    run.closedGates.set(step.id, `it timed out at ${now()} after ${step.approval.timeout} and went on, as the plan says`);
    run.record('approval.timed-out', { stepId: step.id, detail: { timeout: step.approval.timeout, then: 'went on' } });
    return { approvedBy: null, timedOut: true };
  }
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
    if (limit === undefined) {
      await condition(() => run.resumeRequested);
      return { resumedEarly: true };
    }
    return { resumedEarly: await condition(() => run.resumeRequested, limit) };
  } finally {
    Object.assign(span, { to: now() });
    run.resumeRequested = false;
  }
}

/** A run's state before its first step: every step pending. */
export function initialRunState(plan: RunPlan, runId: string, requestedBy: string): RunState {
  const { metadata, spec } = plan;
  return {
    runId, runbook: metadata.name, service: metadata.service, strategy: spec.strategy, requestedBy,
    status: 'running', paused: false, startedAt: now(), steps: spec.steps.map((step) => initialState(step, 'steps')), rollback: [], pauses: [],
  };
}

export function initialState(step: Step, phase: Phase): StepState {
  return { id: step.id, kind: step.kind, phase, action: step.kind === 'action' ? step.action : undefined, status: 'pending' };
}

export function startDetail(step: Step): Record<string, unknown> | undefined {
  if (step.kind === 'approval') return { approvers: step.approval.approvers, timeout: step.approval.timeout, message: step.approval.message };
  if (step.kind === 'pause') return { duration: step.pause.duration ?? 'until resumed', reason: step.pause.reason };
  return { action: step.action, target: step.target };
}

/** Every target resolves on the worker, every gate has an approver, the requester holds a required role; else the run fails before any step. */
export async function preflightRun(run: RunbookRun): Promise<string | undefined> {
  const { spec } = run.runbook;
  const gates = spec.steps.flatMap((step) => (step.kind === 'approval' ? [{ stepId: step.id, approvers: step.approval.approvers }] : []));
  try {
    const checked = await preflight({ runId: run.state.runId, requestedBy: run.state.requestedBy, targets: spec.targets, gates, requiredRole: run.options.requiredRole });
    run.record('run.preflight', { detail: { ok: true, ...checked } });
    return undefined;
  } catch (error) {
    if (isCancellation(error)) throw error;
    const reason = `pre-flight failed before any step ran: ${describeFailure(error)}`;
    run.record('run.preflight', { detail: { ok: false, error: reason } });
    return reason;
  }
}
