import type { GuardReading, RolloutPhaseRecord, RolloutRecord, RolloutRunInput, RolloutStatus, RunState, StepState } from '../workflows/definitions.ts';
import { durationMs } from './duration.ts';
import { GATE_STEP, approvalStep, bakeStep, setStep } from './rollout-plan.ts';

/** A rollout's record from the run's state, pure: what `golive rollout status` and the rollouts table show. */

export interface RolloutExtras {
  readings: GuardReading[];
  gate?: RolloutRecord['gate'];
  /** Who stopped the run (a rollback control, an abort), or golive for a guard. */
  stoppedBy?: string;
}

const change = (step: StepState | undefined) =>
  step?.status === 'succeeded' ? (step.result as { from?: number | null; to?: number } | undefined) : undefined;

/** The flag's percentage as the run last set it: the newest applied change, forward or back. */
export function currentPercent(state: RunState): number {
  const applied = [...state.steps, ...state.rollback].filter((step) => change(step)?.to !== undefined);
  applied.sort((a, b) => (a.finishedAt ?? '').localeCompare(b.finishedAt ?? ''));
  return change(applied.at(-1))?.to ?? 0;
}

function status(state: RunState): RolloutStatus {
  const current = state.steps.find((step) => step.id === state.currentStep);
  switch (state.status) {
    case 'succeeded': case 'aborted': return state.status;
    case 'failed': return state.rollback.some((step) => step.status === 'succeeded') ? 'rolled-back' : 'failed';
    case 'rolling-back': case 'waiting-approval': return state.status;
    default:
      if (current?.id === GATE_STEP) return 'gate';
      if (state.paused) return 'paused';
      return 'baking';
  }
}

/** One phase as it stands; a phase reached and then left below its percentage by a rollback is rolled back. */
function phaseRecord(state: RunState, phase: { percent: number; bake: string }, rolledBackTo: number | undefined): RolloutPhaseRecord {
  const find = (id: string) => state.steps.find((step) => step.id === id);
  const [gate, set, bake] = [find(approvalStep(phase.percent)), find(setStep(phase.percent)), find(bakeStep(phase.percent))];
  const undone = rolledBackTo !== undefined && set?.status !== 'pending' && set !== undefined && phase.percent > rolledBackTo;
  const bakeEndsAt = bake?.startedAt ? new Date(Date.parse(bake.startedAt) + durationMs(phase.bake)).toISOString() : undefined;
  let phaseStatus: RolloutPhaseRecord['status'] = 'pending';
  if (gate?.status === 'waiting') phaseStatus = 'waiting-approval';
  if (bake?.status === 'waiting') phaseStatus = 'baking';
  if (bake?.status === 'succeeded' || bake?.status === 'skipped') phaseStatus = bake.status === 'succeeded' ? 'baked' : 'skipped';
  if (undone) phaseStatus = 'rolled-back';
  return { percent: phase.percent, bake: phase.bake, status: phaseStatus, startedAt: set?.finishedAt, bakeEndsAt, approvedBy: gate?.actor };
}

export function rolloutRecord(input: RolloutRunInput, state: RunState, extras: RolloutExtras): RolloutRecord {
  const { plan } = input;
  const undo = state.rollback.find((step) => change(step) !== undefined);
  const undone = change(undo);
  const phases = plan.spec.phases.map((phase) => phaseRecord(state, phase, undone?.to));
  const reached = phases.filter((phase) => phase.startedAt !== undefined).length;
  const baking = phases.find((phase) => phase.status === 'baking');
  return {
    runId: state.runId,
    plan: plan.metadata.name,
    service: plan.metadata.service,
    flag: { key: plan.spec.flag.key, provider: plan.spec.flag.provider, environment: plan.spec.flag.environment },
    requestedBy: state.requestedBy,
    status: status(state),
    phase: reached,
    percent: currentPercent(state),
    nextPhaseAt: baking && !state.paused ? baking.bakeEndsAt : undefined,
    guards: extras.readings,
    phases,
    gate: extras.gate,
    rolledBack: undo && undone ? { at: undo.finishedAt ?? '', from: undone.from ?? 0, to: undone.to ?? 0, cause: state.reason ?? 'rolled back', by: extras.stoppedBy ?? 'golive' } : undefined,
    startedAt: state.startedAt,
    finishedAt: state.finishedAt,
    reason: state.reason,
    steps: [...state.steps, ...state.rollback],
  };
}
