import { describe, expect, it } from 'vitest';
import { formatDrill } from '../../cli/format-drill.ts';
import { drillResultMessage, drillResultText } from '../../slack/blocks/drill-result.ts';
import type { DrillRecord } from '../../workflows/definitions.ts';

const STALE = "heartbeat writer stopped at 2026-03-07T12:00:00.000Z, 2d 23h before the backup's snapshot at 2026-03-10T11:58:00.000Z: RPO is measured from the snapshot";

const RECORD: DrillRecord = {
  runId: 'orders-drill-1',
  runbook: 'orders-drill',
  service: 'orders',
  strategy: 'warm-standby',
  trigger: 'manual',
  requestedBy: 'sre',
  status: 'passed',
  declaredAt: '2026-03-10T12:00:00.000Z',
  recoveredAt: '2026-03-10T12:05:12.300Z',
  finishedAt: '2026-03-10T12:06:00.000Z',
  backup: { backupId: 'b-1', location: '/backups/orders/b-1.dump', snapshotAt: '2026-03-10T11:58:00.000Z', bytes: 4096, sha256: 'a'.repeat(64) },
  objectives: { rpo: '5m', rto: '15m', rpoMs: 300_000, rtoMs: 900_000 },
  measured: {
    rpoMs: 120_250, rtoMs: 12_300, pausedMs: 300_000, newestCommit: '2026-03-10T11:58:00.000Z', rpoSource: 'snapshot', rpoClock: 'source',
    declaredAtSource: '2026-03-10T12:00:00.250Z', skewMs: 250, newestHeartbeat: '2026-03-07T12:00:00.000Z', snapshotAt: '2026-03-10T11:58:00.000Z', notes: [STALE],
  },
  steps: [{ id: 'restore-backup', status: 'succeeded', durationMs: 10_000 }],
};

describe('golive drill run output', () => {
  it('shows RTO with paused time apart, RPO with its source and clock, the skew, and the stale-writer note', () => {
    const lines = formatDrill(RECORD).split('\n');
    expect(lines.slice(0, 7)).toEqual([
      'drill orders-drill-1: PASSED  (service orders, warm-standby, manual)',
      'backup b-1  snapshot 2026-03-10 11:58:00Z  4.0 KB  /backups/orders/b-1.dump',
      'disaster declared (T_d) 2026-03-10 12:00:00Z on the worker clock (source clock +250ms), recovered 2026-03-10 12:05:12Z',
      '',
      'RPO  measured 2m 0s (newest snapshot 2026-03-10 11:58:00Z, source clock)  objective 5m   met',
      'RTO  measured 12.3s (+ 5m 0s paused)                                      objective 15m  met',
      `note: ${STALE}`,
    ]);
  });

  it('says when T_d and RPO are on the worker clock, and does not repeat a note the reason already gives', () => {
    const problem = 'RPO not measured: clock skew: the newest heartbeat in the restored copy, 2026-03-10T12:00:04.000Z, is 4.0s after T_d 2026-03-10T12:00:00.000Z on the worker clock (skew unknown: the source clock was not read)';
    const unreachable = 'cannot read the clock of source db (connect ECONNREFUSED 127.0.0.1:1); T_d and RPO are on the worker clock';
    const record: DrillRecord = {
      ...RECORD, status: 'failed', reason: problem,
      measured: { rtoMs: 12_300, rpoClock: 'worker', newestCommit: '2026-03-10T12:00:04.000Z', rpoSource: 'heartbeat', notes: [unreachable, problem] },
    };
    const text = formatDrill(record);
    expect(text).toContain(`reason: ${problem}`);
    expect(text).toContain('disaster declared (T_d) 2026-03-10 12:00:00Z on the worker clock (source clock not read)');
    expect(text).toMatch(/^RPO +not measured +objective 5m$/m);
    expect(text).toContain(`note: ${unreachable}`);
    expect(text.split(problem)).toHaveLength(2);
  });
});

describe('Slack drill result', () => {
  it('shows paused time, the clock, the skew and the notes', () => {
    const message = drillResultMessage(RECORD);
    expect(drillResultText(RECORD)).toBe('Restore drill passed for orders. RPO 2m 0s (objective 5m, met); RTO 12.3s (+ 5m 0s paused; objective 15m, met). Run orders-drill-1.');
    expect(message.blocks).toEqual([
      { type: 'header', text: { type: 'plain_text', text: 'Restore drill passed: orders' } },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: '*RPO (data loss)*\n2m 0s (objective 5m, met)\nfrom backup snapshot 2026-03-10T11:58:00.000Z, on the source clock' },
          { type: 'mrkdwn', text: '*RTO (recovery time)*\n12.3s (+ 5m 0s paused; objective 15m, met)' },
          { type: 'mrkdwn', text: '*Backup used*\n`b-1`\ntaken 2026-03-10T11:58:00.000Z, 4.0 KB' },
          { type: 'mrkdwn', text: '*Runbook*\norders-drill (warm-standby)' },
        ],
      },
      { type: 'section', text: { type: 'mrkdwn', text: `*Notes*\n- ${STALE}` } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: 'Run `orders-drill-1`, started by sre. Disaster declared 2026-03-10T12:00:00.000Z (worker clock; source clock +250ms); finished 2026-03-10T12:06:00.000Z.' }],
      },
    ]);
  });
});
