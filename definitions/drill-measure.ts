import type { DrillRecord, RunState, StepState } from '../workflows/definitions.ts';
import { durationMs, formatMeasured } from './duration.ts';
import { BACKUP_STEPS, DECLARE_STEP, HEALTH_STEP, VERIFY_STEP } from './protection-plans.ts';

/**
 * Measured RPO and RTO of a drill, from what its steps recorded (DESIGN.md):
 * T_d is the start of the declare-disaster step; RPO = T_d − the newest committed timestamp in
 * the restored copy (heartbeat, else the backup's snapshot time); RTO = the first passing
 * health check on the restored copy − T_d.
 */
export interface Measurement {
  declaredAt?: string;
  recoveredAt?: string;
  measured: DrillRecord['measured'];
  /** Why the objectives were not met, with both numbers; undefined when they were (or could not be measured). */
  breach?: string;
}

function step(state: RunState, id: string): StepState | undefined {
  return state.steps.find((candidate) => candidate.id === id);
}

function field(result: unknown, name: string): unknown {
  return result !== null && typeof result === 'object' ? (result as Record<string, unknown>)[name] : undefined;
}

function text(result: unknown, name: string): string | undefined {
  const value = field(result, name);
  return typeof value === 'string' ? value : undefined;
}

function number(result: unknown, name: string): number | undefined {
  const value = field(result, name);
  return typeof value === 'number' ? value : undefined;
}

export function measureDrill(state: RunState, objectives: { rpo: string; rto: string }): Measurement {
  const declaredAt = step(state, DECLARE_STEP)?.startedAt;
  const verified = step(state, VERIFY_STEP)?.result;
  const newestCommit = text(verified, 'newestCommit');
  const rpoSource = text(verified, 'rpoSource');
  const recoveredAt = text(step(state, HEALTH_STEP)?.result, 'passedAt');
  const at = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso));
  const since = (from: number | undefined, to: number | undefined) => (from === undefined || to === undefined ? undefined : Math.max(0, to - from));
  const measured: DrillRecord['measured'] = {
    rpoMs: since(at(newestCommit), at(declaredAt)),
    rtoMs: since(at(declaredAt), at(recoveredAt)),
    newestCommit,
    rpoSource: rpoSource === 'heartbeat' || rpoSource === 'snapshot' ? rpoSource : undefined,
  };
  const measuredBy = { rpo: { value: measured.rpoMs, step: VERIFY_STEP, field: 'newestCommit' }, rto: { value: measured.rtoMs, step: HEALTH_STEP, field: 'passedAt' } };
  const breaches = (['rpo', 'rto'] as const).flatMap((kind) => {
    const { value, step: stepId, field: name } = measuredBy[kind];
    const objective = durationMs(objectives[kind]);
    const label = kind.toUpperCase();
    // Measured, not assumed: a drill that could not measure does not pass.
    if (value === undefined) {
      const skipped = step(state, stepId)?.status === 'skipped';
      return [`${label} not measured: ${skipped ? `step ${stepId} was skipped` : `step ${stepId} reported no ${name}`}`];
    }
    return value > objective ? [`measured ${label} ${formatMeasured(value)} exceeds objective ${objectives[kind]}`] : [];
  });
  return { declaredAt, recoveredAt, measured, breach: breaches.length > 0 ? breaches.join('; ') : undefined };
}

/** The backup a drill restored, from the step that found or took it. */
function backupUsed(state: RunState): DrillRecord['backup'] {
  const result = (step(state, BACKUP_STEPS.existing) ?? step(state, BACKUP_STEPS.fresh))?.result;
  const backupId = text(result, 'backupId');
  const snapshotAt = text(result, 'snapshotAt');
  if (backupId === undefined || snapshotAt === undefined) return undefined;
  return { backupId, snapshotAt, location: text(result, 'location') ?? '', bytes: number(result, 'bytes') ?? 0, sha256: text(result, 'sha256') ?? '' };
}

/** The record of a finished drill run. */
export function drillRecord(state: RunState, input: { trigger: DrillRecord['trigger']; objectives: { rpo: string; rto: string } }): DrillRecord {
  const { measured, declaredAt, recoveredAt } = measureDrill(state, input.objectives);
  const passed = state.status === 'succeeded';
  return {
    runId: state.runId,
    runbook: state.runbook,
    service: state.service,
    strategy: state.strategy,
    trigger: input.trigger,
    requestedBy: state.requestedBy,
    status: passed ? 'passed' : 'failed',
    reason: passed ? undefined : state.reason,
    declaredAt: declaredAt ?? state.startedAt,
    recoveredAt,
    finishedAt: state.finishedAt ?? state.startedAt,
    backup: backupUsed(state),
    objectives: { ...input.objectives, rpoMs: durationMs(input.objectives.rpo), rtoMs: durationMs(input.objectives.rto) },
    measured,
    steps: [...state.steps, ...state.rollback].map(({ id, status, durationMs: took, error }) => ({ id, status, durationMs: took, error })),
  };
}
