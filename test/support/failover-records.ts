import type { FailoverRecord, ProjectionBatch, RunState } from '../../workflows/definitions.ts';

const iso = (at: Date | number) => new Date(at).toISOString();

export interface FailoverFields {
  runId: string;
  service?: string;
  declaredAt: Date | number;
  drill?: string;
  status?: FailoverRecord['status'];
}

/** A failover as its record stands while it runs: declared, exposure checked, waiting at the gate. */
export function runningFailover({ runId, service = 'orders', declaredAt, drill, status = 'waiting-approval' }: FailoverFields): FailoverRecord {
  const start = new Date(declaredAt).getTime();
  const check = { bytes: 8_192, seconds: 2, source: 'primary' as const, stepId: 'check-lag', at: iso(start + 1_000) };
  return {
    runId,
    runbook: `${service}-warm-standby`,
    service,
    strategy: 'warm-standby',
    status,
    reason: drill ? 'failover drill' : 'region eu-west-1 is down',
    requestedBy: 'ivan',
    drill: drill !== undefined,
    ...(drill ? { environment: drill } : {}),
    declaredAt: iso(start),
    objectives: { rpo: '1m', rto: '30m', rpoMs: 60_000, rtoMs: 1_800_000 },
    measured: { exposure: check, checks: [check] },
    verdict: { rto: 'not-measured', rpo: 'met' },
    fenced: 'not-run',
    steps: [
      { id: 'check-lag', status: 'succeeded', startedAt: iso(start), finishedAt: iso(start + 1_000) },
      { id: 'approve-failover', status: 'waiting', startedAt: iso(start + 1_000) },
    ],
  };
}

/** The same failover once it has succeeded: approved, re-checked, fenced, promoted, recovered within the objectives. */
export function finishedFailover(running: FailoverRecord, status: FailoverRecord['status'] = 'succeeded'): FailoverRecord {
  const start = Date.parse(running.declaredAt);
  const recheck = { bytes: 0, seconds: 0, source: 'primary' as const, stepId: 'recheck-lag', at: iso(start + 61_000) };
  return {
    ...running,
    status,
    recoveredAt: iso(start + 90_000),
    finishedAt: iso(start + 95_000),
    measured: { rtoMs: 90_000, pausedMs: 0, exposure: recheck, checks: [...running.measured.checks, recheck] },
    verdict: { rto: 'met', rpo: 'met' },
    fenced: 'fenced',
    promoted: { target: 'standby', timeline: 2, at: iso(start + 70_000) },
    steps: [
      running.steps[0] ?? { id: 'check-lag', status: 'succeeded' },
      { id: 'approve-failover', status: 'succeeded', startedAt: iso(start + 1_000), finishedAt: iso(start + 60_000), actor: 'adam' },
      { id: 'recheck-lag', status: 'succeeded', startedAt: iso(start + 60_000), finishedAt: iso(start + 61_000) },
      { id: 'promote', status: 'succeeded', startedAt: iso(start + 61_000), finishedAt: iso(start + 70_000) },
      { id: 'wait-healthy', status: 'succeeded', startedAt: iso(start + 70_000), finishedAt: iso(start + 90_000) },
    ],
  };
}

/** One audit batch of a failover run, carrying its record as the workflow sends it. */
export function failoverBatch(record: FailoverRecord, seq: number, execution = 'execution-1'): ProjectionBatch {
  const state: RunState = {
    runId: record.runId,
    runbook: record.runbook,
    service: record.service,
    strategy: record.strategy,
    requestedBy: record.requestedBy,
    status: record.status,
    paused: false,
    startedAt: record.declaredAt,
    finishedAt: record.finishedAt,
    steps: [],
    rollback: [],
    pauses: [],
  };
  const at = record.finishedAt ?? record.declaredAt;
  return { execution, run: { kind: 'failover', state }, events: [{ runId: record.runId, seq, at, actor: record.requestedBy, action: `test.event-${seq}` }], approvals: [], failover: record };
}
