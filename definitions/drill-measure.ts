import type { DrillRecord, PauseSpan, RunState, StepState } from '../workflows/definitions.ts';
import { durationMs, formatAge, formatMeasured, formatSkew } from './duration.ts';
import { resultNumber, resultText } from './step-results.ts';
import { BACKUP_STEPS, DECLARE_STEP, HEALTH_STEP, VERIFY_STEP } from './protection-plans.ts';

/**
 * Measured RPO and RTO of a drill, from what its steps recorded (docs/rpo-rto.md):
 * - T_d is when the declare step declared, on the worker's clock and, when the source database
 *   answered, on the source's clock too.
 * - RPO = T_d on the source's clock − the newest committed timestamp in the restored copy (the
 *   newest heartbeat, else the backup's snapshot time; both written by the source's clock). When
 *   the source was not reached, T_d on the worker's clock, and the record says so. A negative
 *   difference is clock skew: RPO is not measured and the drill fails.
 * - RTO = the first passing health check on the restored copy − T_d, without the time the run
 *   was paused in between, which is reported apart.
 */
export interface Measurement {
  declaredAt?: string;
  recoveredAt?: string;
  measured: DrillRecord['measured'];
  /** Why the objectives were not met, with both numbers; undefined when they were (or could not be measured). */
  breach?: string;
}

/**
 * How much older than the backup's snapshot the newest restored heartbeat may be before the
 * writer counts as stopped: ten beats of the 1 s writer. A running writer's newest beat in a
 * snapshot is at most one interval old; one that lost its connection reconnects within its 5 s
 * connection timeout, skipping those beats. A gap beyond 10 s means no writer was running, and
 * measuring from its last beat would charge the backup with the writer's outage.
 */
export const STALE_HEARTBEAT_MS = 10_000;

function step(state: RunState, id: string): StepState | undefined {
  return state.steps.find((candidate) => candidate.id === id);
}

const iso = (ms: number) => new Date(ms).toISOString();

interface Declared {
  /** T_d on the worker's clock. */
  at?: string;
  /** Source clock − worker clock; undefined when the source was not read. */
  skewMs?: number;
  note?: string;
}

/** T_d from the declare step; a drill planned before drill.declare (a noop) has only the step's start. */
function declared(state: RunState): Declared {
  const declare = step(state, DECLARE_STEP);
  const result = declare?.result;
  return { at: resultText(result, 'declaredAt') ?? declare?.startedAt, skewMs: resultNumber(result, 'skewMs'), note: resultText(result, 'note') };
}

interface Commit {
  at?: string;
  source?: 'heartbeat' | 'snapshot';
  heartbeat?: string;
  snapshotAt?: string;
  note?: string;
}

/** The newest committed timestamp in the verified copy: its newest heartbeat, unless the writer had stopped before the backup. */
function newestCommit(state: RunState): Commit {
  const verified = step(state, VERIFY_STEP)?.result;
  const reported = resultText(verified, 'newestCommit');
  const heartbeat = resultText(verified, 'newestHeartbeat') ?? (resultText(verified, 'rpoSource') === 'heartbeat' ? reported : undefined);
  const snapshotAt = resultText(verified, 'snapshotAt') ?? (resultText(verified, 'rpoSource') === 'snapshot' ? reported : undefined);
  if (heartbeat !== undefined && snapshotAt !== undefined) {
    const gap = Date.parse(snapshotAt) - Date.parse(heartbeat);
    if (gap > STALE_HEARTBEAT_MS) {
      const note = `heartbeat writer stopped at ${heartbeat}, ${formatAge(gap)} before the backup's snapshot at ${snapshotAt}: RPO is measured from the snapshot`;
      return { at: snapshotAt, source: 'snapshot', heartbeat, snapshotAt, note };
    }
    return { at: heartbeat, source: 'heartbeat', heartbeat, snapshotAt };
  }
  if (heartbeat !== undefined) return { at: heartbeat, source: 'heartbeat', heartbeat };
  return snapshotAt === undefined ? {} : { at: snapshotAt, source: 'snapshot', snapshotAt };
}

interface Measured {
  ms?: number;
  /** Why a difference could not be a measurement (clock skew), naming both timestamps. */
  problem?: string;
}

function measureRpo(declaration: Declared, commit: Commit): Measured & { clock?: 'source' | 'worker'; declaredAtSource?: string } {
  if (declaration.at === undefined || commit.at === undefined || commit.source === undefined) return {};
  const clock = declaration.skewMs === undefined ? 'worker' : 'source';
  const declaredOnClock = Date.parse(declaration.at) + (declaration.skewMs ?? 0);
  const declaredAtSource = declaration.skewMs === undefined ? undefined : iso(declaredOnClock);
  const ms = declaredOnClock - Date.parse(commit.at);
  if (ms >= 0) return { ms, clock, declaredAtSource };
  const skew = declaration.skewMs === undefined ? 'skew unknown: the source clock was not read' : `source clock − worker clock ${formatSkew(declaration.skewMs)}`;
  const problem =
    `RPO not measured: clock skew: the newest ${commit.source} in the restored copy, ${commit.at}, is ${formatMeasured(-ms)} ` +
    `after T_d ${iso(declaredOnClock)} on the ${clock} clock (${skew})`;
  return { problem, clock, declaredAtSource };
}

/** Milliseconds of `pauses` inside [from, to]; overlapping spans count once, an open span runs to `to`. */
export function pausedBetween(pauses: readonly PauseSpan[], from: number, to: number): number {
  const spans = pauses
    .map((span) => [Math.max(from, Date.parse(span.from)), Math.min(to, span.to === undefined ? to : Date.parse(span.to))] as const)
    .filter(([start, end]) => end > start)
    .sort((left, right) => left[0] - right[0]);
  let total = 0;
  let reached = from;
  for (const [start, end] of spans) {
    if (end <= reached) continue;
    total += end - Math.max(start, reached);
    reached = end;
  }
  return total;
}

function measureRto(state: RunState, declaredAt: string | undefined, recoveredAt: string | undefined): Measured & { pausedMs?: number } {
  if (declaredAt === undefined || recoveredAt === undefined) return {};
  const [from, to] = [Date.parse(declaredAt), Date.parse(recoveredAt)];
  if (to < from) {
    return { problem: `RTO not measured: the health check passed at ${recoveredAt}, ${formatMeasured(from - to)} before T_d ${declaredAt} (the workers' clocks disagree)` };
  }
  const pausedMs = pausedBetween(state.pauses, from, to);
  return { ms: to - from - pausedMs, pausedMs };
}

export function measureDrill(state: RunState, objectives: { rpo: string; rto: string }): Measurement {
  const declaration = declared(state);
  const commit = newestCommit(state);
  const recoveredAt = resultText(step(state, HEALTH_STEP)?.result, 'passedAt');
  const rpo = measureRpo(declaration, commit);
  const rto = measureRto(state, declaration.at, recoveredAt);
  const measured: DrillRecord['measured'] = {
    rpoMs: rpo.ms,
    rtoMs: rto.ms,
    pausedMs: rto.pausedMs,
    newestCommit: commit.at,
    rpoSource: commit.source,
    rpoClock: rpo.clock,
    declaredAtSource: rpo.declaredAtSource,
    skewMs: declaration.skewMs,
    newestHeartbeat: commit.heartbeat,
    snapshotAt: commit.snapshotAt,
    notes: [declaration.note, commit.note, rpo.problem, rto.problem].filter((note) => note !== undefined),
  };
  const measuredBy = {
    rpo: { ...rpo, step: VERIFY_STEP, field: 'newestCommit', on: rpo.clock === 'worker' ? ' on the worker clock' : '' },
    rto: { ...rto, step: HEALTH_STEP, field: 'passedAt', on: '' },
  };
  const breaches = (['rpo', 'rto'] as const).flatMap((kind) => {
    const { ms, problem, step: stepId, field: name, on } = measuredBy[kind];
    const label = kind.toUpperCase();
    if (problem !== undefined) return [problem];
    // Measured, not assumed: a drill that could not measure does not pass.
    if (ms === undefined) {
      const skipped = step(state, stepId)?.status === 'skipped';
      return [`${label} not measured: ${skipped ? `step ${stepId} was skipped` : `step ${stepId} reported no ${name}`}`];
    }
    return ms > durationMs(objectives[kind]) ? [`measured ${label} ${formatMeasured(ms)}${on} exceeds objective ${objectives[kind]}`] : [];
  });
  return { declaredAt: declaration.at, recoveredAt, measured, breach: breaches.length > 0 ? breaches.join('; ') : undefined };
}

/** The backup a drill restored, from the step that found or took it. */
function backupUsed(state: RunState): DrillRecord['backup'] {
  const result = (step(state, BACKUP_STEPS.existing) ?? step(state, BACKUP_STEPS.fresh))?.result;
  const backupId = resultText(result, 'backupId');
  const snapshotAt = resultText(result, 'snapshotAt');
  if (backupId === undefined || snapshotAt === undefined) return undefined;
  return { backupId, snapshotAt, location: resultText(result, 'location') ?? '', bytes: resultNumber(result, 'bytes') ?? 0, sha256: resultText(result, 'sha256') ?? '' };
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
