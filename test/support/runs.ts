import type { ApprovalDecision, ProjectionBatch, RunState, RunStatus, StepState } from '../../workflows/definitions.ts';

export interface ScriptedRun {
  runId: string;
  service: string;
  /** Where the run stops: waiting on its gate, or finished with this status. */
  outcome: 'waiting-approval' | 'succeeded' | 'failed';
  startedAt: Date;
  runbook?: string;
}

/**
 * The batches the runbook workflow projects for a run with one check step and one approval gate,
 * one event each, with the run's state as it was then: what `createPgRunStore(...).project` receives.
 */
export function scriptedRun(run: ScriptedRun): ProjectionBatch[] {
  const at = (seq: number) => new Date(run.startedAt.getTime() + seq * 1000).toISOString();
  const check: StepState = { id: 'check-replication', kind: 'action', phase: 'steps', action: 'postgres.replication-lag', status: 'pending' };
  const gate: StepState = { id: 'approve-failover', kind: 'approval', phase: 'steps', status: 'pending' };
  const state: RunState = {
    runId: run.runId, runbook: run.runbook ?? `${run.service}-failover`, service: run.service, strategy: 'warm-standby',
    requestedBy: 'rita', status: 'running', paused: false, startedAt: run.startedAt.toISOString(), steps: [check, gate], rollback: [], pauses: [],
  };
  const events: ProjectionBatch[] = [];
  const record = (action: string, options: { actor?: string; stepId?: string; detail?: Record<string, unknown>; approval?: ApprovalDecision } = {}) => {
    const seq = events.length + 1;
    events.push({
      execution: `${run.runId}-execution`,
      events: [{ runId: run.runId, seq, at: at(seq), actor: options.actor ?? 'golive', action, stepId: options.stepId, detail: options.detail }],
      run: { kind: 'runbook', state: structuredClone(state) },
      approvals: options.approval ? [options.approval] : [],
    });
  };
  const enter = (step: StepState, status: RunStatus, stepStatus: StepState['status']) => {
    Object.assign(state, { status, currentStep: step.id });
    Object.assign(step, { status: stepStatus, startedAt: at(events.length + 1) });
  };

  record('run.started', { actor: 'rita', detail: { strategy: 'warm-standby', objectives: { rpo: '30s', rto: '15m' } } });
  enter(check, 'running', 'running');
  record('step.started', { stepId: check.id });
  Object.assign(check, { status: 'succeeded', finishedAt: at(events.length + 1), durationMs: 1000, result: { lagSeconds: 2 } });
  record('step.succeeded', { stepId: check.id, detail: { result: check.result } });
  enter(gate, 'waiting-approval', 'waiting');
  record('approval.requested', { stepId: gate.id, detail: { approvers: ['incident-commander'], timeout: '1h' } });
  if (run.outcome === 'waiting-approval') return events;

  const decision: ApprovalDecision['decision'] = run.outcome === 'succeeded' ? 'approved' : 'rejected';
  const approval: ApprovalDecision = { stepId: gate.id, decision, actor: 'ivan', comment: 'lag is within RPO', at: at(events.length + 1) };
  Object.assign(gate, { status: decision === 'approved' ? 'succeeded' : 'failed', actor: 'ivan', comment: approval.comment, finishedAt: approval.at });
  record(`approval.${decision}`, { actor: 'ivan', stepId: gate.id, detail: { comment: approval.comment }, approval });
  Object.assign(state, { status: run.outcome, currentStep: undefined, finishedAt: at(events.length + 1) });
  if (run.outcome === 'failed') state.reason = `step ${gate.id} failed: rejected by ivan`;
  record('run.finished', { detail: { status: run.outcome, reason: state.reason } });
  return events;
}
