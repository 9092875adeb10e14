import { ApplicationFailure, proxyActivities, setHandler } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.ts';
import type { Role } from '../definitions/roles.ts';
import type { ApprovalStep } from '../definitions/schema.ts';
import {
  abortUpdate, approveUpdate, pauseUpdate, projectionQuery, rejectUpdate, resumeUpdate, skipUpdate, stateQuery,
  type ApprovalDecision, type ControlRequest,
} from './definitions.ts';
import { describeFailure } from './failures.ts';
import { PRESETS } from './presets.ts';
import type { RunbookRun } from './runbook-run.ts';

type Activities = ReturnType<typeof createActivities>;
const { lookupRoles } = proxyActivities<Activities>(PRESETS.roleLookup);

/** Who may pause, resume, skip or abort a run besides its requester. */
const CONTROL_ROLES: readonly Role[] = ['release-manager', 'incident-commander'];

/** The run's state does not allow the control (finished, decided, closed, expired). */
export const refuse = (message: string): never => {
  throw ApplicationFailure.create({ message, type: 'ControlRefused', nonRetryable: true });
};

/** The actor may not do this (four-eyes, roles). */
export const forbid = (message: string): never => {
  throw ApplicationFailure.create({ message, type: 'NotAllowed', nonRetryable: true });
};

export const holds = (held: readonly Role[]) => held.join(', ') || 'no role';

/** A control whose sender stopped waiting has been reported as failed: applying it now would contradict that. */
export function requireFresh(request: ControlRequest): void {
  if (request.expiresAt !== undefined && Date.parse(request.expiresAt) < Date.now()) {
    refuse(`this control reached the run at ${new Date().toISOString()}, after its sender stopped waiting (${request.expiresAt}); it was not applied, send it again`);
  }
}

export function requireOpen(run: RunbookRun, verb: string): void {
  if (run.finished) refuse(`cannot ${verb} run ${run.state.runId}: it already finished (${run.state.status})`);
}

export function requireController(run: RunbookRun, request: ControlRequest, held: readonly Role[], verb: string): void {
  if (request.actor === run.state.requestedBy || held.some((role) => CONTROL_ROLES.includes(role))) return;
  forbid(`${request.actor} cannot ${verb} run ${run.state.runId}: only its requester (${run.state.requestedBy}) or a ${CONTROL_ROLES.join(' or ')} may (${request.actor} holds ${holds(held)})`);
}

/** The waiting gate a decision is for; refuses with the reason when there is none or it is closed. */
function gateFor(run: RunbookRun, request: ControlRequest, verb: 'approve' | 'reject'): ApprovalStep {
  const { runId } = run.state;
  const current = run.currentState();
  const waiting = current?.kind === 'approval' && current.status === 'waiting' ? current : undefined;
  const wanted = request.stepId ?? waiting?.id ?? [...run.decisions.keys(), ...run.closedGates.keys()].at(-1);
  const decided = wanted === undefined ? undefined : run.decisions.get(wanted);
  if (decided) refuse(`gate ${decided.stepId} of run ${runId} was already ${decided.decision} by ${decided.actor} at ${decided.at}; nothing changed`);
  const closed = wanted === undefined ? undefined : run.closedGates.get(wanted);
  if (closed) refuse(`gate ${wanted} of run ${runId} is closed: ${closed}; nothing changed`);
  if (wanted !== undefined && !run.findStep(wanted)) refuse(`run ${runId} has no step ${wanted}`);
  if (run.abortRequest) refuse(`run ${runId} was aborted by ${run.abortRequest.actor}; its gates are closed and nothing can be ${verb}d`);
  if (!waiting) {
    refuse(run.finished
      ? `run ${runId} already finished (${run.state.status}); there is nothing to ${verb}`
      : `run ${runId} is not waiting for an approval (current step: ${run.state.currentStep ?? 'none'})`);
  }
  if (wanted !== waiting!.id) refuse(`run ${runId} waits at gate ${waiting!.id}, not at ${wanted}`);
  const { step } = run.findStep(waiting!.id)!;
  if (step.kind !== 'approval') return refuse(`step ${step.id} is not an approval gate`);
  if (request.actor === run.state.requestedBy) {
    forbid(`four-eyes: ${request.actor} requested run ${runId} and cannot ${verb} its gate ${step.id}; ask someone holding ${step.approval.approvers.join(' or ')}`);
  }
  return step;
}

function requireApprover(run: RunbookRun, request: ControlRequest, step: ApprovalStep, held: readonly Role[], verb: string): void {
  if (held.some((role) => step.approval.approvers.includes(role))) return;
  forbid(`${request.actor} cannot ${verb} gate ${step.id} of run ${run.state.runId}: it needs ${step.approval.approvers.join(' or ')} and ${request.actor} holds ${holds(held)}`);
}

/**
 * One control: `check` (synchronous: the validator, and again after the look-up, since the run
 * may have moved on meanwhile), the actor's roles looked up on the worker, `authorize` against
 * them, then `apply`. Nothing changes unless all three pass; until then the run holds its next
 * side effect.
 */
export function control<T>(
  run: Pick<RunbookRun, 'judging'>,
  check: (request: ControlRequest) => T,
  authorize: (request: ControlRequest, held: Role[], checked: T) => void,
  apply: (request: ControlRequest, checked: T) => string,
) {
  return {
    validator: (request: ControlRequest) => {
      requireFresh(request);
      check(request);
    },
    handler: (request: ControlRequest) => run.judging(async () => {
      const held = await rolesOf(request.actor);
      requireFresh(request);
      const checked = check(request);
      authorize(request, held, checked);
      return apply(request, checked);
    }),
  };
}

export async function rolesOf(actor: string): Promise<Role[]> {
  try {
    return await lookupRoles(actor);
  } catch (error) {
    return refuse(`cannot check the roles of ${actor} right now (${describeFailure(error)}); nothing changed, try again`);
  }
}

function decide(run: RunbookRun, verb: 'approve' | 'reject') {
  return control(run, (request) => gateFor(run, request, verb), (request, held, step) => requireApprover(run, request, step, held, verb), (request, step) => {
    const decision: ApprovalDecision = {
      stepId: step.id,
      decision: verb === 'approve' ? 'approved' : 'rejected',
      actor: request.actor,
      channel: request.channel,
      comment: request.comment,
      at: new Date().toISOString(),
    };
    run.decisions.set(step.id, decision);
    const gate = run.findStep(step.id)?.state;
    if (gate) Object.assign(gate, { actor: request.actor, comment: request.comment });
    run.record(`approval.${decision.decision}`, { actor: request.actor, channel: request.channel, stepId: step.id, detail: { comment: request.comment }, approval: decision });
    return `${decision.decision} gate ${step.id} of run ${run.state.runId}`;
  });
}

function checkSkip(run: RunbookRun, request: ControlRequest): string {
  requireOpen(run, 'skip a step of');
  const stepId = request.stepId ?? run.state.currentStep;
  if (stepId === undefined) return refuse(`run ${run.state.runId} has no current step; name one with --step`);
  const found = run.findStep(stepId);
  if (!found) refuse(`run ${run.state.runId} has no step ${stepId}`);
  if (found!.step.kind === 'approval') refuse(`gate ${stepId} cannot be skipped: approvals are decided with approve or reject`);
  const status = found!.state?.status ?? 'pending';
  if (!['pending', 'running', 'waiting'].includes(status)) refuse(`step ${stepId} already ${status}; nothing to skip`);
  const earlier = run.skipRequests.get(stepId);
  if (earlier) refuse(`step ${stepId} is already marked to skip by ${earlier.actor}`);
  return stepId;
}

/** Registers the state query and every control update; call before the first await. */
export function registerControls(run: RunbookRun): void {
  const { runId } = run.state;
  const controller = (verb: string) => (request: ControlRequest, held: Role[]) => requireController(run, request, held, verb);
  setHandler(stateQuery, () => run.state);
  setHandler(projectionQuery, () => run.projection.progress());

  const approve = decide(run, 'approve');
  const reject = decide(run, 'reject');
  setHandler(approveUpdate, approve.handler, { validator: approve.validator });
  setHandler(rejectUpdate, reject.handler, { validator: reject.validator });

  const pause = control(run, () => {
    requireOpen(run, 'pause');
    if (run.state.status === 'rolling-back') refuse(`run ${runId} is rolling back; a rollback is not paused`);
    if (run.state.paused) refuse(`run ${runId} is already paused; resume it with resume`);
  }, controller('pause'), (request) => {
    run.state.paused = true;
    run.record('control.paused', { actor: request.actor, channel: request.channel, detail: { comment: request.comment } });
    return `run ${runId} will pause after step ${run.state.currentStep ?? 'in progress'}`;
  });
  setHandler(pauseUpdate, pause.handler, { validator: pause.validator });

  const resume = control(run, () => {
    requireOpen(run, 'resume');
    const atPause = run.currentState()?.kind === 'pause' && run.currentState()?.status === 'waiting';
    if (!run.state.paused && !atPause) refuse(`run ${runId} is not paused; nothing to resume`);
  }, controller('resume'), (request) => {
    run.state.paused = false;
    run.resumeRequested = true;
    run.record('control.resumed', { actor: request.actor, channel: request.channel, detail: { comment: request.comment } });
    return `run ${runId} resumed`;
  });
  setHandler(resumeUpdate, resume.handler, { validator: resume.validator });

  const skip = control(run, (request) => checkSkip(run, request), controller('skip a step of'), (request, stepId) => {
    run.skipRequests.set(stepId, request);
    if (stepId === run.state.currentStep) run.interruptCurrentStep();
    run.record('control.skipped', { actor: request.actor, channel: request.channel, stepId, detail: { comment: request.comment } });
    return `step ${stepId} of run ${runId} will be skipped${stepId === run.state.currentStep ? ' once its action has stopped' : ''}`;
  });
  setHandler(skipUpdate, skip.handler, { validator: skip.validator });

  const abort = control(run, () => {
    requireOpen(run, 'abort');
    if (run.abortRequest) refuse(`run ${runId} was already aborted by ${run.abortRequest.actor}`);
    if (run.state.status === 'rolling-back') refuse(`run ${runId} is already rolling back`);
  }, controller('abort'), (request) => {
    run.abortRequest = request;
    run.interruptCurrentStep();
    run.record('control.aborted', { actor: request.actor, channel: request.channel, detail: { comment: request.comment } });
    return `run ${runId} aborted; the current step stops, then what the run changed is rolled back`;
  });
  setHandler(abortUpdate, abort.handler, { validator: abort.validator });
}
