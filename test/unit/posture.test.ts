import { describe, expect, it } from 'vitest';
import { formatAge } from '../../definitions/duration.ts';
import { computePosture, type PostureInput } from '../../definitions/posture.ts';
import { parseDefinition } from '../../definitions/load.ts';
import { failoverDrillRunbook } from '../support/failover-drill.ts';
import { finishedFailover, runningFailover } from '../support/failover-records.ts';
import { backupEntry, drillRecord, protectedRunbook } from '../support/protection-records.ts';
import { RUNBOOK } from '../support/runbook-text.ts';

const now = new Date('2026-03-10T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ago = (ms: number) => now.getTime() - ms;

function unprotected() {
  const result = parseDefinition(`${RUNBOOK.join('\n')}\n`, 'orders-failover.yaml');
  if (!result.ok || result.kind !== 'Runbook') throw new Error('fixture runbook is invalid');
  return result.definition;
}

const posture = (input: Partial<PostureInput>) => computePosture({ runbooks: [], lastBackups: [], lastDrills: [], lastFailoverDrills: [], now, ...input });
const byService = (input: Partial<PostureInput>) => Object.fromEntries(posture(input).map((service) => [service.service, service]));

describe('formatAge', () => {
  it.each([
    [450, '450ms'], [45_000, '45s'], [200_000, '3m 20s'], [5 * HOUR + 12 * 60_000, '5h 12m'], [2 * DAY + 3 * HOUR + 59_000, '2d 3h'], [8 * DAY, '8d 0h'],
  ])('%d ms reads %s', (ms, text) => expect(formatAge(ms)).toBe(text));
});

describe('computePosture', () => {
  it('is ok when the last backup is within the RPO and a drill passed within the window', () => {
    const passed = drillRecord({ runId: 'orders-drill-1', service: 'orders', finishedAt: ago(2 * DAY), rpoMs: 2 * HOUR + 5 * 60_000, rtoMs: 243_000 });
    const result = posture({
      runbooks: [protectedRunbook({ name: 'orders-backup-restore', service: 'orders' }), unprotected()],
      lastBackups: [backupEntry('orders', 'b-1', ago(3 * HOUR))],
      lastDrills: [{ service: 'orders', latest: passed, lastPassed: passed }],
    });
    expect(result).toEqual([{
      service: 'orders',
      runbook: 'orders-backup-restore',
      strategy: 'backup-restore',
      objectives: { rpo: '24h', rto: '4h', rpoMs: DAY, rtoMs: 4 * HOUR },
      lastBackup: {
        backupId: 'b-1', location: 's3://golive-backups/orders/b-1.dump', snapshotAt: '2026-03-10T09:00:00.000Z',
        finishedAt: '2026-03-10T09:01:00.000Z', ageMs: 3 * HOUR, withinRpo: true,
      },
      lastDrill: { runId: 'orders-drill-1', status: 'passed', finishedAt: '2026-03-08T12:00:00.000Z', rpoMs: 7_500_000, rtoMs: 243_000, reason: undefined },
      lastPassedDrillAt: '2026-03-08T12:00:00.000Z',
      drillWindow: '30d',
      lastFailoverDrill: null,
      stale: false,
      problems: [],
      status: 'ok',
    }]);
  });

  it('is at-risk when the last backup is older than the RPO, saying by how much', () => {
    const passed = drillRecord({ runId: 'payments-drill-1', service: 'payments', finishedAt: ago(DAY) });
    const [payments] = posture({
      runbooks: [protectedRunbook({ name: 'payments-backup-restore', service: 'payments' })],
      lastBackups: [backupEntry('payments', 'b-7', ago(2 * DAY + 3 * HOUR + 20 * 60_000))],
      lastDrills: [{ service: 'payments', latest: passed, lastPassed: passed }],
    });
    expect(payments).toMatchObject({ status: 'at-risk', stale: false, lastBackup: { withinRpo: false }, problems: ['last backup 2d 3h old exceeds RPO 24h'] });
  });

  it('is stale when no drill passed within the runbook\'s window, and at-risk when the last drill failed', () => {
    const oldPass = drillRecord({ runId: 'billing-drill-1', service: 'billing', finishedAt: ago(8 * DAY) });
    const failed = drillRecord({ runId: 'inventory-drill-2', service: 'inventory', finishedAt: ago(HOUR), status: 'failed', reason: 'measured RPO 26h 0m exceeds objective 24h' });
    const earlierPass = drillRecord({ runId: 'inventory-drill-1', service: 'inventory', finishedAt: ago(3 * DAY) });
    const services = byService({
      runbooks: [
        protectedRunbook({ name: 'billing-backup-restore', service: 'billing', drill: '7d' }),
        protectedRunbook({ name: 'inventory-backup-restore', service: 'inventory' }),
      ],
      lastBackups: [backupEntry('billing', 'b-2', ago(HOUR)), backupEntry('inventory', 'b-3', ago(HOUR))],
      lastDrills: [{ service: 'billing', latest: oldPass, lastPassed: oldPass }, { service: 'inventory', latest: failed, lastPassed: earlierPass }],
    });
    expect(services.billing).toMatchObject({ status: 'stale', stale: true, problems: ['no drill passed in 7d (last passed 8d 0h ago)'] });
    expect(services.inventory).toMatchObject({
      status: 'at-risk',
      stale: false,
      lastDrill: { runId: 'inventory-drill-2', status: 'failed', reason: 'measured RPO 26h 0m exceeds objective 24h' },
      lastPassedDrillAt: '2026-03-07T12:00:00.000Z',
      problems: ['last drill inventory-drill-2 failed: measured RPO 26h 0m exceeds objective 24h'],
    });
  });

  it('uses the default 30d window: 29 days since the last pass is fine, 31 is stale', () => {
    const runbooks = [protectedRunbook({ name: 'orders-backup-restore', service: 'orders' })];
    const lastBackups = [backupEntry('orders', 'b-1', ago(HOUR))];
    const at = (days: number) => {
      const drill = drillRecord({ runId: `orders-drill-${days}`, service: 'orders', finishedAt: ago(days * DAY) });
      return posture({ runbooks, lastBackups, lastDrills: [{ service: 'orders', latest: drill, lastPassed: drill }] })[0];
    };
    expect(at(29)).toMatchObject({ status: 'ok', stale: false });
    expect(at(31)).toMatchObject({ status: 'stale', stale: true, problems: ['no drill passed in 30d (last passed 31d 0h ago)'] });
  });

  it('lists a protected service with no records as at-risk and never drilled', () => {
    expect(posture({ runbooks: [protectedRunbook({ name: 'search-backup-restore', service: 'search' })] })[0]).toMatchObject({
      service: 'search', lastBackup: null, lastDrill: null, lastPassedDrillAt: null, stale: true, status: 'at-risk',
      problems: ['no backup recorded', 'no drill passed in 30d (never passed)'],
    });
  });

  it('says when backups are not proven by any drill configuration', () => {
    const [reports] = posture({
      runbooks: [protectedRunbook({ name: 'reports-backup', service: 'reports', drill: false })],
      lastBackups: [backupEntry('reports', 'b-9', ago(HOUR))],
    });
    expect(reports).toMatchObject({
      status: 'stale',
      problems: ['no drill proves the backups: add spec.drill to reports-backup', 'no drill passed in 30d (never passed)'],
    });
  });

  it('includes services seen only in records, judged by the objectives their last drill recorded', () => {
    const drill = drillRecord({ runId: 'legacy-drill-1', service: 'legacy', finishedAt: ago(HOUR), runbook: 'legacy-restore', objectives: { rpo: '1h', rto: '4h' } });
    const services = byService({
      lastBackups: [backupEntry('legacy', 'b-4', ago(2 * HOUR)), backupEntry('orphan', 'b-5', ago(HOUR))],
      lastDrills: [{ service: 'legacy', latest: drill, lastPassed: drill }],
    });
    expect(Object.keys(services)).toEqual(['legacy', 'orphan']);
    expect(services.legacy).toMatchObject({
      runbook: 'legacy-restore', strategy: 'backup-restore', objectives: { rpo: '1h', rto: '4h' }, status: 'at-risk',
      problems: [
        'no runbook declares spec.backup or spec.drill for legacy; judged by the objectives of drill legacy-drill-1',
        'last backup 2h 0m old exceeds RPO 1h',
      ],
    });
    expect(services.orphan).toMatchObject({ runbook: null, strategy: null, objectives: null, lastBackup: { withinRpo: null }, status: 'at-risk' });
  });

  it('judges a service with several protected runbooks by the drilled one with the tightest RPO', () => {
    const [orders] = posture({
      runbooks: [
        protectedRunbook({ name: 'orders-nightly', service: 'orders', rpo: '24h', drill: false }),
        protectedRunbook({ name: 'orders-hourly', service: 'orders', rpo: '2h' }),
        protectedRunbook({ name: 'orders-daily', service: 'orders', rpo: '24h' }),
      ],
    });
    expect([orders?.runbook, orders?.objectives?.rpo]).toEqual(['orders-hourly', '2h']);
  });

  it('ignores runbooks without spec.backup or spec.drill', () => {
    expect(posture({ runbooks: [unprotected()] })).toEqual([]);
  });
});

describe('the last failover drill in posture', () => {
  const passed = drillRecord({ runId: 'orders-drill-1', service: 'orders', finishedAt: ago(DAY) });
  const orders = (input: Partial<PostureInput>) => posture({
    runbooks: [protectedRunbook({ name: 'orders-backup-restore', service: 'orders' })],
    lastBackups: [backupEntry('orders', 'b-1', ago(HOUR))],
    lastDrills: [{ service: 'orders', latest: passed, lastPassed: passed }],
    ...input,
  })[0];
  const staging = failoverDrillRunbook({ name: 'orders-failover', service: 'orders', stagingUrl: 'http://127.0.0.1:18082' });

  it('shows the newest failover drill: when, where, its RTO against the objective and the exposure', () => {
    const drill = finishedFailover(runningFailover({ runId: 'orders-failover-1', declaredAt: ago(2 * DAY), drill: 'staging' }));
    expect(orders({ runbooks: [protectedRunbook({ name: 'orders-backup-restore', service: 'orders' }), staging], lastFailoverDrills: [drill] })).toMatchObject({
      status: 'ok',
      problems: [],
      lastFailoverDrill: {
        runId: 'orders-failover-1', at: '2026-03-08T12:00:00.000Z', status: 'succeeded', environment: 'staging',
        rtoMs: 90_000, objectiveRtoMs: 1_800_000, verdict: 'met', exposureSeconds: 0,
      },
    });
  });

  it("says when the last failover drill missed its RTO or failed, without changing the service's status", () => {
    const finished = finishedFailover(runningFailover({ runId: 'orders-failover-2', declaredAt: ago(DAY), drill: 'staging' }), 'failed');
    const missed = { ...finished, outcome: 'verify-service failed: no answer within 30s', measured: { ...finished.measured, rtoMs: 2_400_000 }, verdict: { rto: 'missed' as const, rpo: 'met' as const } };
    expect(orders({ lastFailoverDrills: [missed] })).toMatchObject({
      status: 'ok',
      lastFailoverDrill: { runId: 'orders-failover-2', status: 'failed', rtoMs: 2_400_000, verdict: 'missed' },
      problems: [
        'last failover drill orders-failover-2 (environment staging) failed: verify-service failed: no answer within 30s',
        'last failover drill orders-failover-2 (environment staging) missed its RTO: measured 40m 0s exceeds objective 30m',
      ],
    });
  });

  it('shows a drill still running as it stands, RTO not measured yet, with no problem', () => {
    const running = runningFailover({ runId: 'orders-failover-3', declaredAt: ago(60_000), drill: 'staging' });
    const service = orders({ lastFailoverDrills: [running] });
    expect(service?.lastFailoverDrill).toEqual({
      runId: 'orders-failover-3', at: new Date(ago(60_000)).toISOString(), status: 'waiting-approval', environment: 'staging',
      objectiveRtoMs: 1_800_000, verdict: 'not-measured', exposureSeconds: 2,
    });
    expect(service?.problems).toEqual([]);
  });

  it('tells a service whose failover runbooks were never drilled what to type, naming the file when it is known', () => {
    const runbooks = [protectedRunbook({ name: 'orders-backup-restore', service: 'orders' }), staging];
    expect(orders({ runbooks })).toMatchObject({ status: 'ok', lastFailoverDrill: null, problems: ['no failover drill yet: golive failover drill orders-failover --environment staging'] });
    const runbookFiles = new Map([['orders-failover', 'runbooks/orders-failover.yaml']]);
    expect(orders({ runbooks, runbookFiles })?.problems).toEqual(['no failover drill yet: golive failover drill runbooks/orders-failover.yaml --environment staging']);
    expect(orders({})?.problems).toEqual([]);
  });
});
