import type { ActionStep, ApprovalStep, PauseStep, RolloutPlan, RunPlan, Step } from './schema.ts';

/**
 * A rollout plan as steps of the run engine, pure so it runs inside the workflow. Each phase:
 * its approval gate (if the plan asks), `set-P` (the flag to P%), then `bake-P` (a durable timer
 * while the guards are watched). Each `set-P` has a compensation `undo-P` back to the phase
 * before (0 for the first); which of them run on a rollback is the plan's `rollbackTo`.
 */

export const GATE_STEP = 'gate';
export const setStep = (percent: number) => `set-${percent}`;
export const bakeStep = (percent: number) => `bake-${percent}`;
export const approvalStep = (percent: number) => `approve-${percent}`;
export const undoStep = (percent: number) => `undo-${percent}`;

/** The phase a step belongs to (its percentage), from its id; undefined for the gate. */
export function stepPercent(stepId: string): number | undefined {
  const match = /^(?:set|bake|approve|undo)-(\d+)$/.exec(stepId);
  return match ? Number(match[1]) : undefined;
}

function setFlag(plan: RolloutPlan, id: string, percent: number, compensates?: string): ActionStep {
  // Forward changes are the requester's; a rollback is golive's, on the run's record of who caused it.
  const { flag } = plan.spec;
  return {
    kind: 'action',
    id,
    description: `${flag.key} to ${percent}% in ${flag.environment}`,
    action: 'flag.set-rollout',
    target: undefined,
    with: { key: flag.key, environment: flag.environment, percent, provider: flag.provider, unleash: flag.target, actor: compensates === undefined ? '{{run.requestedBy}}' : 'golive' },
    targetRefs: flag.provider === 'unleash' && flag.target ? [flag.target] : [],
    timeout: '1m',
    retries: 5,
    assert: [],
    compensates,
  };
}

export function rolloutRunPlan(plan: RolloutPlan): RunPlan {
  const steps: Step[] = [];
  const rollback: Step[] = [];
  plan.spec.phases.forEach((phase, index) => {
    if (phase.approval) {
      const gate: ApprovalStep = {
        kind: 'approval',
        id: approvalStep(phase.percent),
        description: `go to ${phase.percent}%`,
        approval: { approvers: phase.approval.approvers, timeout: phase.approval.timeout, message: phase.approval.message ?? `Go to ${phase.percent}%?` },
        compensates: undefined,
      };
      steps.push(gate);
    }
    steps.push(setFlag(plan, setStep(phase.percent), phase.percent));
    const bake: PauseStep = {
      kind: 'pause',
      id: bakeStep(phase.percent),
      description: `bake at ${phase.percent}% while the guards are watched`,
      pause: { duration: phase.bake, reason: `bake at ${phase.percent}%` },
      compensates: undefined,
    };
    steps.push(bake);
    rollback.push(setFlag(plan, undoStep(phase.percent), plan.spec.phases[index - 1]?.percent ?? 0, setStep(phase.percent)));
  });
  return {
    apiVersion: plan.apiVersion,
    kind: 'Runbook',
    metadata: plan.metadata,
    spec: { strategy: 'rollout', targets: plan.spec.targets, steps, rollback, environments: {} },
  };
}

/**
 * The compensations a rollback runs, given newest first: an abort and `rollbackTo: zero` undo the
 * first phase only (straight to 0, no stop on the way); `previous` undoes the newest phase only.
 */
export function rollbackSteps(plan: RolloutPlan, due: Step[], cause: 'failed' | 'aborted'): Step[] {
  if (due.length === 0) return due;
  const chosen = cause === 'aborted' || plan.spec.rollbackTo === 'zero' ? due.at(-1)! : due[0]!;
  return [chosen];
}
