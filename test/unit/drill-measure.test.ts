import { describe, expect, it } from 'vitest';
import { drillRecord, measureDrill, pausedBetween, STALE_HEARTBEAT_MS } from '../../definitions/drill-measure.ts';
import { drillPlan } from '../../definitions/protection-plans.ts';
import type { PauseSpan, RunState, StepState } from '../../workflows/definitions.ts';
import { protectedRunbook } from '../support/protection-records.ts';

const T = Date.parse('2026-03-10T12:00:00.000Z');
const at = (offsetMs: number) => new Date(T + offsetMs).toISOString();
const MINUTE = 60_000;
const DAY = 86_400_000;
const objectives = { rpo: '5m', rto: '15m' };

/** The source answered: its clock was `skewMs` ahead of the worker's when the drill declared at T. */
const reached = (skewMs: number) => ({ declaredAt: at(0), sourceClock: at(skewMs + 3), skewMs, roundTripMs: 6, sourceReachable: true });
const unreachable = { declaredAt: at(0), sourceClock: null, skewMs: null, roundTripMs: null, sourceReachable: false, note: 'cannot read the clock of source db (connect ECONNREFUSED 127.0.0.1:1); T_d and RPO are on the worker clock' };
/** What drill.verify reports of a copy whose newest heartbeat and snapshot are the given offsets from T. */
const verified = (heartbeat: number | null, snapshot: number) => ({
  newestCommit: at(heartbeat ?? snapshot),
  rpoSource: heartbeat === null ? 'snapshot' : 'heartbeat',
  newestHeartbeat: heartbeat === null ? null : at(heartbeat),
  snapshotAt: at(snapshot),
});

interface Fixture {
  declare?: unknown;
  verify?: unknown;
  passedAt?: string;
  pauses?: PauseSpan[];
}

function done(id: string, action: string, result: unknown, startedAt = at(0)): StepState {
  return { id, kind: 'action', phase: 'steps', action, status: 'succeeded', startedAt, finishedAt: startedAt, result };
}

/** A drill run that succeeded, in the plan's order, with the results its steps reported. */
function drillState(fixture: Fixture): RunState {
  return {
    runId: 'orders-drill-1', runbook: 'orders-drill', service: 'orders', strategy: 'warm-standby', requestedBy: 'sre',
    status: 'succeeded', paused: false, startedAt: at(-1_000), finishedAt: at(20 * MINUTE), rollback: [], pauses: fixture.pauses ?? [],
    steps: [
      done('declare-disaster', 'drill.declare', fixture.declare ?? reached(0)),
      done('find-backup', 'backup.latest', { backupId: 'b-1', snapshotAt: at(-2 * MINUTE), location: '/backups/orders/b-1.dump', bytes: 4096, sha256: 'a'.repeat(64) }),
      done('restore-backup', 'backup.restore', { database: 'scratch' }),
      done('health-check', 'drill.health', { passedAt: fixture.passedAt ?? at(12_300), attempts: 1 }),
      done('verify-checksum', 'backup.verify-checksum', {}),
      done('verify-restored-data', 'drill.verify', fixture.verify ?? verified(-2 * MINUTE - 500, -2 * MINUTE)),
    ],
  };
}

describe('measured RPO', () => {
  it('is T_d on the source clock minus the newest restored heartbeat, with the skew reported', () => {
    const { measured, breach } = measureDrill(drillState({ declare: reached(1_500) }), objectives);
    expect(measured).toMatchObject({
      rpoMs: 2 * MINUTE + 500 + 1_500, rpoSource: 'heartbeat', rpoClock: 'source', skewMs: 1_500,
      declaredAtSource: at(1_500), newestCommit: at(-2 * MINUTE - 500), newestHeartbeat: at(-2 * MINUTE - 500), snapshotAt: at(-2 * MINUTE), notes: [],
    });
    expect(breach).toBeUndefined();
  });

  it('falls back to the worker clock when the source did not answer, and says so', () => {
    const { measured, breach } = measureDrill(drillState({ declare: unreachable }), { rpo: '1m', rto: '15m' });
    expect(measured).toMatchObject({ rpoMs: 2 * MINUTE + 500, rpoClock: 'worker', skewMs: undefined, declaredAtSource: undefined, notes: [unreachable.note] });
    expect(breach).toBe('measured RPO 2m 0s on the worker clock exceeds objective 1m');
  });

  it('never clamps a negative RPO to 0: it is clock skew, naming both timestamps and the skew, and fails the drill', () => {
    const behind = measureDrill(drillState({ declare: reached(-5_000), verify: verified(-2_000, -1_500) }), objectives);
    const problem = 'RPO not measured: clock skew: the newest heartbeat in the restored copy, 2026-03-10T11:59:58.000Z, is 3.0s after T_d 2026-03-10T11:59:55.000Z on the source clock (source clock − worker clock -5.0s)';
    expect(behind.measured.rpoMs).toBeUndefined();
    expect(behind.breach).toBe(problem);
    expect(behind.measured.notes).toEqual([problem]);

    const unknown = measureDrill(drillState({ declare: unreachable, verify: verified(4_000, 4_200) }), objectives);
    expect(unknown.measured.rpoMs).toBeUndefined();
    expect(unknown.breach).toBe('RPO not measured: clock skew: the newest heartbeat in the restored copy, 2026-03-10T12:00:04.000Z, is 4.0s after T_d 2026-03-10T12:00:00.000Z on the worker clock (skew unknown: the source clock was not read)');
  });

  it('uses the snapshot time when the heartbeat writer had stopped, and keeps both', () => {
    const stale = measureDrill(drillState({ verify: verified(-3 * DAY, -2 * MINUTE) }), objectives);
    expect(stale.measured).toMatchObject({
      rpoMs: 2 * MINUTE, rpoSource: 'snapshot', newestCommit: at(-2 * MINUTE), newestHeartbeat: at(-3 * DAY), snapshotAt: at(-2 * MINUTE),
      notes: ["heartbeat writer stopped at 2026-03-07T12:00:00.000Z, 2d 23h before the backup's snapshot at 2026-03-10T11:58:00.000Z: RPO is measured from the snapshot"],
    });
    expect(stale.breach).toBeUndefined();
  });

  it('trusts a heartbeat up to STALE_HEARTBEAT_MS older than the snapshot, and not a millisecond more', () => {
    const snapshot = -2 * MINUTE;
    const edge = measureDrill(drillState({ verify: verified(snapshot - STALE_HEARTBEAT_MS, snapshot) }), objectives);
    expect([edge.measured.rpoSource, edge.measured.rpoMs]).toEqual(['heartbeat', 2 * MINUTE + STALE_HEARTBEAT_MS]);
    const past = measureDrill(drillState({ verify: verified(snapshot - STALE_HEARTBEAT_MS - 1, snapshot) }), objectives);
    expect([past.measured.rpoSource, past.measured.rpoMs]).toEqual(['snapshot', 2 * MINUTE]);
  });

  it('measures from the snapshot when the source has no heartbeat table', () => {
    const { measured } = measureDrill(drillState({ verify: verified(null, -90_000) }), objectives);
    expect(measured).toMatchObject({ rpoMs: 90_000, rpoSource: 'snapshot', newestHeartbeat: undefined, snapshotAt: at(-90_000), notes: [] });
  });

  it('reads results of drills planned before drill.declare: T_d is the noop step start, on the worker clock', () => {
    const state = drillState({ declare: { note: 'T_d' }, verify: { newestCommit: at(-MINUTE), rpoSource: 'heartbeat', snapshotAt: at(-MINUTE + 400) } });
    const { measured, declaredAt } = measureDrill(state, objectives);
    expect(declaredAt).toBe(at(0));
    expect(measured).toMatchObject({ rpoMs: MINUTE, rpoClock: 'worker', rpoSource: 'heartbeat', newestHeartbeat: at(-MINUTE) });
  });
});

describe('measured RTO', () => {
  it('runs from T_d to the first passing health check, without the time the run was paused', () => {
    const pauses = [{ from: at(5_000), to: at(5_000 + 5 * MINUTE) }];
    const { measured, breach, recoveredAt } = measureDrill(drillState({ passedAt: at(12_300 + 5 * MINUTE), pauses }), { rpo: '5m', rto: '1m' });
    expect([measured.rtoMs, measured.pausedMs, recoveredAt]).toEqual([12_300, 5 * MINUTE, at(12_300 + 5 * MINUTE)]);
    expect(breach).toBeUndefined();
  });

  it('counts only paused time between T_d and recovery, overlapping spans once, an open span up to recovery', () => {
    const [from, to] = [T, T + 10 * MINUTE];
    const spans: PauseSpan[] = [
      { from: at(-MINUTE), to: at(MINUTE) }, // before T_d: its first minute does not count
      { from: at(2 * MINUTE), to: at(4 * MINUTE), stepId: 'hold' },
      { from: at(3 * MINUTE), to: at(5 * MINUTE) }, // overlaps the one before
      { from: at(11 * MINUTE), to: at(12 * MINUTE) }, // after recovery
      { from: at(9 * MINUTE) }, // still open
    ];
    expect(pausedBetween(spans, from, to)).toBe(MINUTE + 3 * MINUTE + MINUTE);
    expect(pausedBetween([], from, to)).toBe(0);
  });

  it('is not measured when the health check passed before T_d on the workers\' clocks', () => {
    const { measured, breach } = measureDrill(drillState({ passedAt: at(-2_000) }), objectives);
    expect(measured.rtoMs).toBeUndefined();
    expect(breach).toBe("RTO not measured: the health check passed at 2026-03-10T11:59:58.000Z, 2.0s before T_d 2026-03-10T12:00:00.000Z (the workers' clocks disagree)");
  });
});

describe('drillRecord', () => {
  it('records T_d from the declare step, both clocks, paused time and the stale-writer note', () => {
    const record = drillRecord(
      drillState({ declare: reached(250), verify: verified(-DAY, -2 * MINUTE), pauses: [{ from: at(MINUTE), to: at(2 * MINUTE) }], passedAt: at(3 * MINUTE) }),
      { trigger: 'manual', objectives },
    );
    expect(record).toMatchObject({
      status: 'passed', declaredAt: at(0), recoveredAt: at(3 * MINUTE),
      backup: { backupId: 'b-1', snapshotAt: at(-2 * MINUTE) },
      measured: {
        rpoMs: 2 * MINUTE + 250, rpoSource: 'snapshot', rpoClock: 'source', skewMs: 250, declaredAtSource: at(250),
        rtoMs: 2 * MINUTE, pausedMs: MINUTE, newestHeartbeat: at(-DAY), snapshotAt: at(-2 * MINUTE),
        notes: [expect.stringMatching(/^heartbeat writer stopped at 2026-03-09T12:00:00.000Z, 23h 58m before/)],
      },
    });
  });
});

describe('drillPlan', () => {
  const runbook = protectedRunbook({ name: 'orders-drill', service: 'orders' });
  const ids = (plan: ReturnType<typeof drillPlan>) => plan.spec.steps.map((step) => step.id);

  it('health-checks straight after the restore, then checks, verifies and smoke-tests; declares on the backup source', () => {
    const plan = drillPlan(runbook, 'orders-drill-1');
    expect(ids(plan)).toEqual(['declare-disaster', 'find-backup', 'restore-backup', 'health-check', 'verify-checksum', 'verify-restored-data', 'drop-scratch-database']);
    expect(plan.spec.steps[0]).toMatchObject({ action: 'drill.declare', target: 'db' });
    expect(plan.spec.rollback.map((step) => step.id)).toEqual(['drop-scratch-database-after-failure']);
    expect(ids(drillPlan(runbook, 'orders-drill-2', { freshBackup: true })).slice(0, 3)).toEqual(['take-backup', 'declare-disaster', 'restore-backup']);
  });
});
