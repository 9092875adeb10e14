import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { advise, STRATEGY_BANDS } from '../../definitions/advisor.ts';
import { durationMs } from '../../definitions/duration.ts';
import { findDefinitionFiles, formatProblem, loadDefinition, parseDefinition } from '../../definitions/load.ts';
import { STRATEGIES } from '../../definitions/schema.ts';
import { runbookWith } from '../support/runbook-text.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const objectives = (rpo: string, rto: string) => ({ rpoMs: durationMs(rpo), rtoMs: durationMs(rto) });

describe('advise', () => {
  it('picks warm-standby for RPO 5m / RTO 30m and says why each other strategy was not chosen', () => {
    expect(advise(objectives('5m', '30m'))).toEqual({
      strategy: 'warm-standby',
      template: 'runbooks/orders-warm-standby.yaml',
      why: 'warm-standby is the cheapest strategy that meets RPO 5m and RTO 30m: it reaches RPO 10s and RTO 10m at best (RPO minutes, RTO minutes to hours)',
      rejected: [
        { strategy: 'backup-restore', why: 'cannot meet RPO 5m: its tightest RPO is 1h (RPO hours to a day, RTO hours to days)' },
        { strategy: 'pilot-light', why: 'cannot meet RTO 30m: its tightest RTO is 1h (RPO minutes to hours, RTO hours)' },
        { strategy: 'active-active', why: 'meets RPO 5m and RTO 30m but costs more than warm-standby' },
      ],
    });
  });

  it.each([
    ['1h', '1d', 'backup-restore'],
    ['24h', '24h', 'backup-restore'],
    ['1h', '4h', 'backup-restore'],
    ['1h', '2h', 'pilot-light'],
    ['15m', '1d', 'pilot-light'],
    ['1m', '30m', 'warm-standby'],
    ['5s', '1h', 'active-active'],
    ['1h', '1m', 'active-active'],
    ['0s', '0s', 'active-active'],
  ])('RPO %s / RTO %s → %s, the cheapest that meets both', (rpo, rto, strategy) => {
    const advice = advise(objectives(rpo, rto));
    expect(advice.strategy).toBe(strategy);
    expect(advice.template).toBe(`runbooks/orders-${strategy}.yaml`);
    expect(advice.rejected.map((each) => each.strategy)).toEqual(STRATEGIES.filter((each) => each !== strategy));
  });

  it('names a shipped runbook as the template of every strategy, and orders floors by cost', async () => {
    const floors = STRATEGIES.map((strategy) => STRATEGY_BANDS[strategy].floor);
    for (let index = 1; index < floors.length; index++) {
      expect(durationMs(floors[index]!.rpo)).toBeLessThanOrEqual(durationMs(floors[index - 1]!.rpo));
      expect(durationMs(floors[index]!.rto)).toBeLessThanOrEqual(durationMs(floors[index - 1]!.rto));
    }
    for (const strategy of STRATEGIES) {
      const result = await loadDefinition(`${ROOT}${STRATEGY_BANDS[strategy].template}`);
      expect(result.ok && result.kind === 'Runbook' && result.definition.spec.strategy).toBe(strategy);
    }
  });
});

describe('the validate warning uses the same bands', () => {
  it('warns about objectives tighter than the strategy reaches and suggests what advise picks', () => {
    const result = parseDefinition(runbookWith({ 7: '  strategy: backup-restore' }), 'orders.yaml');
    expect(result.ok && result.warnings.map(formatProblem)).toEqual([
      'orders.yaml:8:21: spec.objectives.rpo: warning: rpo 1m is tighter than backup-restore usually achieves (RPO hours to a day, RTO hours to days); consider warm-standby',
    ]);
    const pilot = parseDefinition(runbookWith({ 7: '  strategy: pilot-light' }), 'orders.yaml');
    expect(pilot.ok && pilot.warnings.map(formatProblem)).toEqual([
      'orders.yaml:8:30: spec.objectives.rto: warning: rto 30m is tighter than pilot-light usually achieves (RPO minutes to hours, RTO hours); consider warm-standby',
    ]);
    const fitting = parseDefinition(runbookWith({}), 'orders.yaml');
    expect(fitting.ok && fitting.warnings).toEqual([]);
  });

  it('finds nothing to warn about in the shipped runbooks', async () => {
    const { files } = await findDefinitionFiles([`${ROOT}runbooks`]);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const result = await loadDefinition(file);
      expect(result.ok ? result.warnings.map(formatProblem) : result.problems.map(formatProblem)).toEqual([]);
    }
  });
});
