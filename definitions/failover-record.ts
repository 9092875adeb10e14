import type { Exposure, FailoverRecord, FailoverRunInput, FenceState, RunState, StepState } from '../workflows/definitions.ts';
import { durationMs, formatMeasured } from './duration.ts';
import { resultField, resultNumber, resultText } from './step-results.ts';
import type { ActionStep } from './steps.ts';

/**
 * A failover's record, from what its steps reported (docs/rpo-rto.md):
 * - T_d is the failover's start.
 * - Recovery is the first passing health check through the switched path: the step named by
 *   `spec.rtoStopsAt`, else the last http.wait-healthy step. RTO = recovery − T_d, everything
 *   included (a gate's wait and a pause are downtime too); the paused time is reported apart.
 * - Exposure is what the last replication-lag step before promotion measured: data committed on
 *   the old primary that the new one may not have.
 */

/**
 * Actions after which a run never rolls back once they may have applied their change: what was
 * changed before is left for a person to judge (a promoted standby cannot be demoted).
 */
export const IRREVERSIBLE_ACTIONS: readonly string[] = ['postgres.promote'];

/** The exposure a replication-lag step reported, if the result carries one. */
export function readExposure(result: unknown): Exposure | undefined {
  const exposure = resultField(result, 'exposure');
  const source = resultField(exposure, 'source');
  if (source !== 'primary' && source !== 'standby') return undefined;
  return { bytes: resultNumber(exposure, 'bytes') ?? null, seconds: resultNumber(exposure, 'seconds') ?? null, source };
}

/** Why an exposure breaks the RPO objective, with both numbers; undefined when it does not. */
export function exposureProblem(exposure: Exposure, rpo: string): string | undefined {
  const from = exposure.source === 'primary' ? 'comparing the primary with the standby' : 'from the standby alone, the primary not answering';
  if (exposure.seconds === null) return `the exposure could not be measured (${from}) and the RPO objective is ${rpo}`;
  if (exposure.seconds * 1000 <= durationMs(rpo)) return undefined;
  const bytes = exposure.bytes === null ? 'unknown bytes' : `${exposure.bytes} bytes`;
  return `exposure ${formatMeasured(exposure.seconds * 1000)} (${bytes}, measured ${from}) exceeds the RPO objective ${rpo}`;
}

function recovery(input: FailoverRunInput, state: RunState): StepState | undefined {
  const named = input.runbook.spec.rtoStopsAt;
  if (named !== undefined) return state.steps.find((step) => step.id === named);
  return state.steps.filter((step) => step.action === 'http.wait-healthy').at(-1);
}

function recoveredAt(step: StepState | undefined): string | undefined {
  if (step?.status !== 'succeeded') return undefined;
  return resultText(step.result, 'passedAt') ?? step.finishedAt;
}

function fenceState(state: RunState): FenceState {
  const fence = state.steps.find((step) => step.action === 'postgres.fence' && step.status === 'succeeded');
  const reported = resultText(fence?.result, 'state');
  return reported === 'fenced' || reported === 'not-primary' || reported === 'unreachable' ? reported : 'not-run';
}

function pausedMs(state: RunState, from: number, until: number): number {
  return state.pauses
    .filter((span) => span.stepId === undefined)
    .reduce((sum, span) => sum + Math.max(0, Math.min(until, Date.parse(span.to ?? new Date(until).toISOString())) - Math.max(from, Date.parse(span.from))), 0);
}

const verdictOf = (measured: number | undefined, objective: number) =>
  measured === undefined ? 'not-measured' : measured <= objective ? 'met' : 'missed';

export function failoverRecord(input: FailoverRunInput, state: RunState): FailoverRecord {
  const { spec } = input.runbook;
  const objectives = { ...spec.objectives, rpoMs: durationMs(spec.objectives.rpo), rtoMs: durationMs(spec.objectives.rto) };
  const promote = state.steps.find((step) => step.action === 'postgres.promote');
  const promoteIndex = promote ? state.steps.indexOf(promote) : state.steps.length;
  const checks = state.steps.flatMap((step) => {
    const exposure = step.phase === 'steps' && step.status === 'succeeded' ? readExposure(step.result) : undefined;
    return exposure ? [{ ...exposure, stepId: step.id, at: step.finishedAt }] : [];
  });
  const exposure = checks.filter((check) => state.steps.findIndex((step) => step.id === check.stepId) < promoteIndex).at(-1) ?? checks.at(-1);
  const declared = Date.parse(state.startedAt);
  const recovered = recoveredAt(recovery(input, state));
  const rtoMs = recovered === undefined ? undefined : Date.parse(recovered) - declared;
  const exposureMs = exposure?.seconds === null || exposure === undefined ? undefined : exposure.seconds * 1000;
  const promoteTarget = spec.steps.find((step): step is ActionStep => step.id === promote?.id && step.kind === 'action')?.target;
  return {
    runId: state.runId,
    runbook: state.runbook,
    service: state.service,
    strategy: state.strategy,
    status: state.status,
    reason: input.reason,
    requestedBy: state.requestedBy,
    drill: input.drill !== undefined,
    environment: input.drill?.environment,
    trigger: input.drill?.trigger,
    outcome: state.reason,
    declaredAt: state.startedAt,
    recoveredAt: recovered,
    finishedAt: state.finishedAt,
    objectives,
    measured: { rtoMs, pausedMs: pausedMs(state, declared, recovered ? Date.parse(recovered) : Date.now()), exposure, checks },
    verdict: { rto: verdictOf(rtoMs, objectives.rtoMs), rpo: verdictOf(exposureMs, objectives.rpoMs) },
    forced: input.force !== undefined && checks.some((check) => exposureProblem(check, spec.objectives.rpo)) ? { reason: input.force, by: state.requestedBy } : undefined,
    fenced: fenceState(state),
    promoted: promote?.status === 'succeeded'
      ? { target: promoteTarget ?? '', timeline: resultNumber(promote.result, 'timeline'), at: resultText(promote.result, 'at') }
      : undefined,
    steps: [...state.steps, ...state.rollback].map((step) => ({
      id: step.id,
      status: step.status,
      startedAt: step.startedAt,
      finishedAt: step.finishedAt,
      actor: step.actor ?? (step.kind === 'action' && step.startedAt ? 'golive' : undefined),
      error: step.error,
    })),
  };
}
