import { ApplicationFailure, setHandler } from '@temporalio/workflow';
import { rolesOf, type Role } from '../definitions/roles.ts';
import {
  abortUpdate, approveUpdate, pauseUpdate, rejectUpdate, resumeUpdate, skipUpdate, stateQuery,
  type ApprovalDecision, type ControlRequest,
} from './definitions.ts';
import type { RunbookRun } from './runbook-run.ts';

/** Who may pause, resume, skip or abort a run besides its requester. */
const CONTROL_ROLES: readonly Role[] = ['release-manager', 'incident-commander'];

const refuse = (message: string): never => {
  throw ApplicationFailure.create({ message, type: 'ControlRefused', nonRetryable: true });
};

function requireOpen(run: RunbookRun, verb: string): void {
  if (run.finished) refuse(`cannot ${verb} run ${run.state.runId}: it already finished (${run.state.status})`);
}

function requireController(run: RunbookRun, request: ControlRequest, verb: string): void {
  const { actor } = request;
  if (actor === run.state.requestedBy) return;
  const held = rolesOf(run.input.roles, actor);
  if (!held.some((role) => CONTROL_ROLES.includes(role))) {
    refuse(`${actor} cannot ${verb} run ${run.state.runId}: only its requester (${run.state.requestedBy}) or a ${CONTROL_ROLES.join(' or ')} may (${actor} holds ${held.join(', ') || 'no role'})`);
  }
}

/** The waiting gate a decision is for; refuses with the reason when there is none or it is not allowed. */
function gateFor(run: RunbookRun, request: ControlRequest, verb: 'approve' | 'reject') {
  const { runId } = run.state;
  const current = run.currentState();
  const waiting = current?.kind === 'approval' && current.status === 'waiting' ? current : undefined;
  const wanted = request.stepId ?? waiting?.id ?? [...run.decisions.keys()].at(-1);
  const decided = wanted === undefined ? undefined : run.decisions.get(wanted);
  if (decided) refuse(`gate ${decided.stepId} of run ${runId} was already ${decided.decision} by ${decided.actor} at ${decided.at}; nothing changed`);
  if (wanted !== undefined && !run.findStep(wanted)) refuse(`run ${runId} has no step ${wanted}`);
  if (!waiting) {
    refuse(run.finished
      ? `run ${runId} already finished (${run.state.status}); there is nothing to ${verb}`
      : `run ${runId} is not waiting for an approval (current step: ${run.state.currentStep ?? 'none'})`);
  }
  if (wanted !== waiting!.id) refuse(`run ${runId} waits at gate ${waiting!.id}, not at ${wanted}`);
  const { step } = run.findStep(waiting!.id)!;
  if (step.kind !== 'approval') return refuse(`step ${step.id} is not an approval gate`);
  if (request.actor === run.state.requestedBy) {
    refuse(`four-eyes: ${request.actor} requested run ${runId} and cannot ${verb} its gate ${step.id}; ask someone holding ${step.approval.approvers.join(' or ')}`);
  }
  const held = rolesOf(run.input.roles, request.actor);
  if (!held.some((role) => step.approval.approvers.includes(role))) {
    refuse(`${request.actor} cannot ${verb} gate ${step.id} of run ${runId}: it needs ${step.approval.approvers.join(' or ')} and ${request.actor} holds ${held.join(', ') || 'no role'}`);
  }
  return step;
}

function decide(run: RunbookRun, verb: 'approve' | 'reject') {
  return async (request: ControlRequest): Promise<string> => {
    const step = gateFor(run, request, verb);
    const decision: ApprovalDecision = {
      stepId: step.id,
      decision: verb === 'approve' ? 'approved' : 'rejected',
      actor: request.actor,
      comment: request.comment,
      at: new Date().toISOString(),
    };
    run.decisions.set(step.id, decision);
    const gate = run.findStep(step.id)?.state;
    if (gate) Object.assign(gate, { actor: request.actor, comment: request.comment });
    await run.record(`approval.${decision.decision}`, { actor: request.actor, stepId: step.id, detail: { comment: request.comment }, approval: decision });
    return `${decision.decision} gate ${step.id} of run ${run.state.runId}`;
  };
}

function validateSkip(run: RunbookRun, request: ControlRequest): void {
  requireOpen(run, 'skip a step of');
  requireController(run, request, 'skip a step of');
  const stepId = request.stepId ?? run.state.currentStep;
  if (stepId === undefined) refuse(`run ${run.state.runId} has no current step; name one with --step`);
  const found = run.findStep(stepId!);
  if (!found) refuse(`run ${run.state.runId} has no step ${stepId}`);
  if (found!.step.kind === 'approval') refuse(`gate ${stepId} cannot be skipped: approvals are decided with approve or reject`);
  const status = found!.state?.status ?? 'pending';
  if (!['pending', 'running', 'waiting'].includes(status)) refuse(`step ${stepId} already ${status}; nothing to skip`);
  const earlier = run.skipRequests.get(stepId!);
  if (earlier) refuse(`step ${stepId} is already marked to skip by ${earlier.actor}`);
}

/** Registers the state query and every control update; call before the first await. */
export function registerControls(run: RunbookRun): void {
  const { runId } = run.state;
  setHandler(stateQuery, () => run.state);

  setHandler(approveUpdate, decide(run, 'approve'), { validator: (request) => void gateFor(run, request, 'approve') });
  setHandler(rejectUpdate, decide(run, 'reject'), { validator: (request) => void gateFor(run, request, 'reject') });

  setHandler(pauseUpdate, async (request) => {
    run.state.paused = true;
    await run.record('control.paused', { actor: request.actor, detail: { comment: request.comment } });
    return `run ${runId} will pause after step ${run.state.currentStep ?? 'in progress'}`;
  }, {
    validator: (request) => {
      requireOpen(run, 'pause');
      requireController(run, request, 'pause');
      if (run.state.status === 'rolling-back') refuse(`run ${runId} is rolling back; a rollback is not paused`);
      if (run.state.paused) refuse(`run ${runId} is already paused; resume it with resume`);
    },
  });

  setHandler(resumeUpdate, async (request) => {
    run.state.paused = false;
    run.resumeRequested = true;
    await run.record('control.resumed', { actor: request.actor, detail: { comment: request.comment } });
    return `run ${runId} resumed`;
  }, {
    validator: (request) => {
      requireOpen(run, 'resume');
      requireController(run, request, 'resume');
      const atPause = run.currentState()?.kind === 'pause' && run.currentState()?.status === 'waiting';
      if (!run.state.paused && !atPause) refuse(`run ${runId} is not paused; nothing to resume`);
    },
  });

  setHandler(skipUpdate, async (request) => {
    const stepId = (request.stepId ?? run.state.currentStep)!;
    run.skipRequests.set(stepId, request);
    if (stepId === run.state.currentStep) run.interruptCurrentStep();
    await run.record('control.skipped', { actor: request.actor, stepId, detail: { comment: request.comment } });
    return `step ${stepId} of run ${runId} will be skipped`;
  }, { validator: (request) => validateSkip(run, request) });

  setHandler(abortUpdate, async (request) => {
    run.abortRequest = request;
    run.interruptCurrentStep();
    await run.record('control.aborted', { actor: request.actor, detail: { comment: request.comment } });
    return `run ${runId} aborted; rolling back what it changed`;
  }, {
    validator: (request) => {
      requireOpen(run, 'abort');
      requireController(run, request, 'abort');
      if (run.abortRequest) refuse(`run ${runId} was already aborted by ${run.abortRequest.actor}`);
      if (run.state.status === 'rolling-back') refuse(`run ${runId} is already rolling back`);
    },
  });
}
