import { describe, expect, it } from 'vitest';
import { failoverRecord } from '../../definitions/failover-record.ts';
import { inEnvironment } from '../../definitions/failover.ts';
import { parseDefinition } from '../../definitions/load.ts';
import type { Runbook } from '../../definitions/schema.ts';
import type { FailoverRunInput, RunState, StepState } from '../../workflows/definitions.ts';

const TEXT = `apiVersion: golive/v1
kind: Runbook
metadata: {name: orders-failover, service: orders}
spec:
  strategy: warm-standby
  objectives: {rpo: 1m, rto: 30m}
  rtoStopsAt: verify-service
  targets:
    primary: {type: postgres, url: "\${PRIMARY_URL}"}
    standby: {type: postgres, url: "\${STANDBY_URL}"}
    front: {type: http, url: "https://orders.example.com"}
  environments:
    staging:
      targets:
        primary: {type: postgres, url: "\${STAGING_PRIMARY_URL}"}
  steps:
    - {id: check-lag, action: postgres.replication-lag, target: standby, with: {primary: primary}}
    - {id: fence, action: postgres.fence, target: primary}
    - {id: recheck-lag, action: postgres.replication-lag, target: standby, with: {primary: primary}}
    - {id: promote, action: postgres.promote, target: standby}
    - {id: verify-service, action: http.wait-healthy, target: front}
`;

const messages = (text: string) => {
  const result = parseDefinition(text, 'failover.yaml');
  return result.ok ? [] : result.problems.map((problem) => `${problem.path}: ${problem.message}`);
};

describe('failover runbooks', () => {
  it('accept the exposure re-check right before promotion, the RTO clock step and a drill environment', () => {
    expect(messages(TEXT)).toEqual([]);
  });

  it('refuse a promotion that does not follow a re-check of the same standby', () => {
    const text = TEXT.replace('    - {id: recheck-lag, action: postgres.replication-lag, target: standby, with: {primary: primary}}\n', '');
    expect(messages(text)).toEqual([
      'spec.steps[2]: promote step promote must come right after a postgres.replication-lag step of standby: the exposure is measured again immediately before promotion, not only before the gate',
    ]);
  });

  it('refuse an RTO clock that stops at something other than a health check', () => {
    expect(messages(TEXT.replace('rtoStopsAt: verify-service', 'rtoStopsAt: promote'))).toEqual([
      'spec.rtoStopsAt: must name a step of spec.steps with action http.wait-healthy or http.check (the health check through the switched path)',
    ]);
  });

  it('refuse an environment target the runbook does not declare, or of another type', () => {
    const text = TEXT.replace('        primary: {type: postgres, url: "${STAGING_PRIMARY_URL}"}', '        primary: {type: http, url: "https://staging"}\n        replica: {type: postgres, url: "${X}"}');
    expect(messages(text)).toEqual([
      'spec.environments.staging.targets.primary.type: must be postgres, the type of target primary',
      'spec.environments.staging.targets.replica: environment staging replaces target replica, which spec.targets does not declare',
    ]);
  });
});

const runbook = (): Runbook => {
  const result = parseDefinition(TEXT, 'failover.yaml');
  if (!result.ok || result.kind !== 'Runbook') throw new Error('the example runbook must parse');
  return result.definition;
};

describe('inEnvironment', () => {
  it('replaces the named targets and keeps the others', () => {
    const staged = inEnvironment(runbook(), 'staging');
    expect(staged.spec.targets.primary).toMatchObject({ url: '${STAGING_PRIMARY_URL}' });
    expect(staged.spec.targets.standby).toMatchObject({ url: '${STANDBY_URL}' });
  });

  it('names the environments there are when asked for another', () => {
    expect(() => inEnvironment(runbook(), 'prod')).toThrow('no environment prod in the runbook (known: staging)');
  });
});

const step = (id: string, fields: Partial<StepState>): StepState => ({ id, kind: 'action', phase: 'steps', status: 'succeeded', ...fields });

describe('failoverRecord', () => {
  const input: FailoverRunInput = { runbook: runbook(), requestedBy: 'ivan', channel: 'api', reason: 'region lost' };
  const state = (steps: StepState[]): RunState => ({
    runId: 'orders-failover-1', runbook: 'orders-failover', service: 'orders', strategy: 'warm-standby', requestedBy: 'ivan',
    status: 'succeeded', paused: false, startedAt: '2026-11-29T03:00:00.000Z', finishedAt: '2026-11-29T03:10:00.000Z', steps, rollback: [], pauses: [],
  });

  it('measures RTO from T_d to the first pass of the RTO step and takes the exposure of the re-check before promotion', () => {
    const record = failoverRecord(input, state([
      step('check-lag', { action: 'postgres.replication-lag', finishedAt: '2026-11-29T03:00:01.000Z', result: { exposure: { bytes: 0, seconds: 0, source: 'primary' } } }),
      step('fence', { action: 'postgres.fence', result: { state: 'unreachable' } }),
      step('recheck-lag', { action: 'postgres.replication-lag', finishedAt: '2026-11-29T03:05:00.000Z', result: { exposure: { bytes: 4096, seconds: 42, source: 'standby' } } }),
      step('promote', { action: 'postgres.promote', result: { timeline: 3, at: '2026-11-29T03:05:01.000Z' } }),
      step('verify-service', { action: 'http.wait-healthy', finishedAt: '2026-11-29T03:07:00.000Z', result: { passedAt: '2026-11-29T03:06:30.000Z' } }),
    ]));
    expect(record).toMatchObject({
      declaredAt: '2026-11-29T03:00:00.000Z',
      recoveredAt: '2026-11-29T03:06:30.000Z',
      measured: { rtoMs: 390_000, exposure: { bytes: 4096, seconds: 42, source: 'standby', stepId: 'recheck-lag' } },
      verdict: { rto: 'met', rpo: 'met' },
      fenced: 'unreachable',
      promoted: { target: 'standby', timeline: 3, at: '2026-11-29T03:05:01.000Z' },
    });
    expect(record.measured.checks.map((check) => check.stepId)).toEqual(['check-lag', 'recheck-lag']);
    expect(record.forced).toBeUndefined();
  });

  it('says what was not measured: no recovery, no fence', () => {
    const record = failoverRecord({ ...input, force: 'frozen' }, state([
      step('check-lag', { action: 'postgres.replication-lag', result: { exposure: { bytes: 1e6, seconds: 90, source: 'primary' } } }),
      step('fence', { action: 'postgres.fence', status: 'pending' }),
    ]));
    expect(record).toMatchObject({ fenced: 'not-run', verdict: { rto: 'not-measured', rpo: 'missed' }, forced: { reason: 'frozen', by: 'ivan' } });
    expect(record.recoveredAt).toBeUndefined();
  });
});
