import { describe, expect, it } from 'vitest';
import { parseDefinition } from '../../definitions/load.ts';
import { rollbackSteps, rolloutRunPlan } from '../../definitions/rollout-plan.ts';
import { rolloutRecord } from '../../definitions/rollout-record.ts';
import type { RolloutPlan } from '../../definitions/schema.ts';
import type { RunState, StepState } from '../../workflows/definitions.ts';

const plan = (guards = `
  guards:
    - {name: error-rate, target: metrics, query: "max(errors)", max: 0.01, interval: 10m}`, rollbackTo = 'zero') => {
  const text = `apiVersion: golive/v1
kind: RolloutPlan
metadata: {name: checkout-v2, service: checkout}
spec:
  flag: {key: checkout-v2}
  rollbackTo: ${rollbackTo}
  targets:
    metrics: {type: prometheus, url: "http://prometheus:9090"}
  phases:
    - {percent: 10, bake: 7d}
    - {percent: 50, bake: 7d, approval: {approvers: [release-manager], timeout: 2d}}
    - {percent: 100, bake: 1d}
${guards}
`;
  const parsed = parseDefinition(text, 'plan.yaml');
  return parsed;
};

const parsedPlan = (rollbackTo = 'zero'): RolloutPlan => {
  const parsed = plan(undefined, rollbackTo);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  if (parsed.kind !== 'RolloutPlan') throw new Error(`not a rollout plan: ${parsed.kind}`);
  return parsed.definition;
};

describe('rollout plans as run steps', () => {
  it('each phase becomes its gate, its percentage and its bake; each percentage has an undo back to the phase before', () => {
    const run = rolloutRunPlan(parsedPlan());
    expect(run.spec.steps.map((step) => step.id)).toEqual(['set-10', 'bake-10', 'approve-50', 'set-50', 'bake-50', 'set-100', 'bake-100']);
    expect(run.spec.rollback.map((step) => [step.id, step.compensates, step.kind === 'action' ? step.with.percent : undefined])).toEqual([
      ['undo-10', 'set-10', 0], ['undo-50', 'set-50', 10], ['undo-100', 'set-100', 50],
    ]);
  });

  it('a rollback to zero runs the first undo only; to previous, the newest only; an abort always goes to zero', () => {
    const due = rolloutRunPlan(parsedPlan()).spec.rollback.slice(0, 2).reverse();
    expect(rollbackSteps(parsedPlan('zero'), due, 'failed').map((step) => step.id)).toEqual(['undo-10']);
    expect(rollbackSteps(parsedPlan('previous'), due, 'failed').map((step) => step.id)).toEqual(['undo-50']);
    expect(rollbackSteps(parsedPlan('previous'), due, 'aborted').map((step) => step.id)).toEqual(['undo-10']);
  });

  it('refuses guards that would run more often than a rollout holds, and says which interval fits', () => {
    const parsed = plan(`
  guards:
    - {name: error-rate, target: metrics, query: "max(errors)", max: 0.01, interval: 1m}`);
    expect(parsed.ok ? [] : parsed.problems.map((problem) => `${problem.path}: ${problem.message}`)).toEqual([
      'spec.guards[0].interval: every 1m over 15d of bakes is 21600 evaluations, more than 2500 a rollout holds: use interval 9m or longer',
    ]);
  });
});

describe('the rollout record', () => {
  const step = (id: string, fields: Partial<StepState>): StepState => ({ id, kind: id.startsWith('bake') ? 'pause' : 'action', phase: 'steps', status: 'pending', ...fields });

  it('shows the phase, the percentage and when the next phase starts while a bake runs', () => {
    const state: RunState = {
      runId: 'checkout-v2-1', runbook: 'checkout-v2', service: 'checkout', strategy: 'rollout', requestedBy: 'rita', status: 'paused', paused: false,
      currentStep: 'bake-10', startedAt: '2026-11-29T10:00:00.000Z', pauses: [], rollback: [],
      steps: [
        step('set-10', { status: 'succeeded', finishedAt: '2026-11-29T10:00:01.000Z', result: { from: null, to: 10 } }),
        step('bake-10', { status: 'waiting', startedAt: '2026-11-29T10:00:01.000Z' }),
      ],
    };
    const record = rolloutRecord({ plan: parsedPlan(), requestedBy: 'rita', channel: 'cli' }, state, { readings: [] });
    expect(record).toMatchObject({ status: 'baking', phase: 1, percent: 10, nextPhaseAt: '2026-12-06T10:00:01.000Z' });
    expect(record.phases.map((phase) => phase.status)).toEqual(['baking', 'pending', 'pending']);
  });
});
