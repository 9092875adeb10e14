import { describe, expect, it } from 'vitest';
import { computePosture, type PostureInput } from '../../definitions/posture.ts';
import type { Block } from '../../slack/blocks/drill-result.ts';
import { postureDigestMessage, postureDigestText } from '../../slack/blocks/posture-digest.ts';
import { backupEntry, drillRecord, protectedRunbook } from '../support/protection-records.ts';

const now = new Date('2026-03-10T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ago = (ms: number) => now.getTime() - ms;

const posture = (input: Partial<PostureInput>) => ({
  at: now.toISOString(),
  services: computePosture({ runbooks: [], lastBackups: [], lastDrills: [], lastFailoverDrills: [], now, ...input }),
});

/** Three services: orders ok, payments with a failed drill (at risk), search with no drill in its window (stale). */
function threeServices() {
  const ordersDrill = drillRecord({ runId: 'orders-drill-1', service: 'orders', finishedAt: ago(2 * DAY), rpoMs: 2 * HOUR, rtoMs: 243_000 });
  const paymentsDrill = drillRecord({ runId: 'payments-drill-2', service: 'payments', finishedAt: ago(5 * HOUR), status: 'failed', reason: 'measured RTO 5h 2m exceeds objective 4h', rtoMs: 5 * HOUR });
  const searchDrill = drillRecord({ runId: 'search-drill-3', service: 'search', finishedAt: ago(40 * DAY) });
  return posture({
    runbooks: ['orders', 'payments', 'search'].map((service) => protectedRunbook({ name: `${service}-backup-restore`, service })),
    lastBackups: ['orders', 'payments', 'search'].map((service) => backupEntry(service, `${service}-b1`, ago(3 * HOUR))),
    lastDrills: [
      { service: 'orders', latest: ordersDrill, lastPassed: ordersDrill },
      { service: 'payments', latest: paymentsDrill, lastPassed: ordersDrill },
      { service: 'search', latest: searchDrill, lastPassed: searchDrill },
    ],
  });
}

const sections = (blocks: Block[]) => blocks.flatMap((block) => (block.type === 'section' ? [block] : []));
const sectionText = (blocks: Block[]) => sections(blocks).map((block) => block.text?.text ?? '');

describe('postureDigestMessage', () => {
  it('puts what is failing and overdue first, each service with its strategy, objectives against the last drill, and its last backup and drill', () => {
    const message = postureDigestMessage(threeServices());
    expect(message.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'DR posture: 2 of 3 services need attention' } });
    expect(message.blocks[1]).toEqual({ type: 'context', elements: [{ type: 'mrkdwn', text: 'As of 2026-03-10 12:00 UTC: 1 at risk, 1 stale, 1 ok. `golive posture` shows the same.' }] });
    expect(sectionText(message.blocks).map((text) => text.split('\n')[0])).toEqual([
      '*payments*: AT RISK (backup-restore, runbook `payments-backup-restore`)',
      '*search*: STALE (backup-restore, runbook `search-backup-restore`)',
      '*orders*: ok (backup-restore, runbook `orders-backup-restore`)',
    ]);
    const [payments, search, orders] = sections(message.blocks);
    expect(payments?.text?.text).toContain('- last drill payments-drill-2 failed: measured RTO 5h 2m exceeds objective 4h');
    expect(payments?.fields?.map((field) => field.text)).toEqual([
      '*RPO (data loss)*\nobjective 24h; last drill 2h 5m, met',
      '*RTO (recovery time)*\nobjective 4h; last drill 5h 0m, MISSED',
      '*Last backup*\n3h 0m ago, within RPO',
      '*Last drill*\nFAILED 5h 0m ago',
    ]);
    expect(search?.fields?.[3]?.text).toBe('*Last drill*\npassed 40d 0h ago; none passed in 30d');
    expect(orders?.fields?.[1]?.text).toBe('*RTO (recovery time)*\nobjective 4h; last drill 4m 3s, met');
    expect(orders?.text?.text).toBe('*orders*: ok (backup-restore, runbook `orders-backup-restore`)');
  });

  it('says in its notification text which services need attention', () => {
    expect(postureDigestText(threeServices())).toBe('DR posture: 2 of 3 services need attention: payments (at risk), search (stale).');
  });

  it('says when every service is ok, and when none is protected', () => {
    const ordersDrill = drillRecord({ runId: 'orders-drill-1', service: 'orders', finishedAt: ago(DAY) });
    const healthy = posture({
      runbooks: [protectedRunbook({ name: 'orders-backup-restore', service: 'orders' })],
      lastBackups: [backupEntry('orders', 'orders-b1', ago(HOUR))],
      lastDrills: [{ service: 'orders', latest: ordersDrill, lastPassed: ordersDrill }],
    });
    expect(postureDigestText(healthy)).toBe('DR posture: all 1 service ok.');
    const empty = postureDigestMessage(posture({}));
    expect(empty.text).toBe('DR posture: no protected services.');
    expect(sectionText(empty.blocks)).toEqual(["No runbook in the worker's runbooks folder (GOLIVE_RUNBOOKS_DIR) declares spec.backup or spec.drill, and no backups or drills are recorded."]);
  });

  it('says a service has no backup, no drill and no measurements yet', () => {
    const [fresh] = sections(postureDigestMessage(posture({ runbooks: [protectedRunbook({ name: 'ledger-backup-restore', service: 'ledger' })] })).blocks);
    expect(fresh?.fields?.map((field) => field.text)).toEqual([
      '*RPO (data loss)*\nobjective 24h; not measured yet',
      '*RTO (recovery time)*\nobjective 4h; not measured yet',
      '*Last backup*\nnone recorded',
      '*Last drill*\nnever',
    ]);
    expect(fresh?.text?.text).toContain('- no backup recorded');
  });

  it("stays within Slack's 50 blocks and 3000 characters, naming the services that did not fit", () => {
    const names = Array.from({ length: 120 }, (_, index) => `service-${String(index).padStart(3, '0')}-${'x'.repeat(40)}`);
    const message = postureDigestMessage(posture({ runbooks: names.map((service) => protectedRunbook({ name: `${service}-rb`, service })) }));
    expect(message.blocks.length).toBeLessThanOrEqual(50);
    for (const block of sections(message.blocks)) expect(block.text?.text.length ?? 0).toBeLessThanOrEqual(3000);
    const last = sectionText(message.blocks).at(-1) ?? '';
    expect(last).toMatch(/^_and 74 more services, 74 of them needing attention_: service-046-x+ \(at risk\), /);
    expect(last).toMatch(/\n`golive posture` lists them all\.$/);
  });

  it('escapes what a runbook author wrote, so it cannot become Slack markup', () => {
    const [block] = sections(postureDigestMessage(posture({ lastBackups: [backupEntry('<!channel>', 'b1', ago(HOUR))] })).blocks);
    expect(block?.text?.text).toMatch(/^\*&lt;!channel&gt;\*: AT RISK/);
  });
});
