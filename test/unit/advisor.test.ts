import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { advise, STRATEGY_BANDS } from '../../definitions/advisor.ts';
import { durationMs, parseObjective } from '../../definitions/duration.ts';
import { findDefinitionFiles, formatProblem, loadDefinition, parseDefinition } from '../../definitions/load.ts';
import { STRATEGIES } from '../../definitions/schema.ts';
import { runbookWith } from '../support/runbook-text.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HOUR = 3_600_000;
const objectives = (rpo: string, rto: string) => ({ rpoMs: durationMs(rpo), rtoMs: durationMs(rto) });

describe('advise', () => {
  it('picks warm-standby for RPO 5m / RTO 30m and says why each other strategy was not chosen', () => {
    expect(advise(objectives('5m', '30m'))).toEqual({
      strategy: 'warm-standby',
      template: 'runbooks/orders-warm-standby.yaml',
      why: 'warm-standby is the cheapest strategy that meets RPO 5m and RTO 30m: it reaches RPO 10s and RTO 10m at best (RPO minutes, RTO minutes to hours)',
      rejected: [
        { strategy: 'backup-restore', why: 'cannot meet RPO 5m: its tightest RPO is 1h (RPO hours to days, RTO days)' },
        { strategy: 'pilot-light', why: 'cannot meet RTO 30m: its tightest RTO is 1h (RPO minutes to hours, RTO hours)' },
        { strategy: 'active-active', why: 'meets RPO 5m and RTO 30m but costs more than warm-standby' },
      ],
    });
  });

  // The DR chapter's "strategy by scenario" table, row by row.
  it.each([
    ['24h', '2d', 'backup-restore'],
    ['1h', '4h', 'pilot-light'],
    ['5m', '30m', 'warm-standby'],
    ['0s', '0s', 'active-active'],
  ])('follows the chapter: RPO %s / RTO %s → %s', (rpo, rto, strategy) => {
    expect(advise(objectives(rpo, rto)).strategy).toBe(strategy);
  });

  // An objective equal to a strategy's floor is met; one a second tighter is not.
  it.each([
    ['1h', '1d', 'backup-restore'],
    ['59m59s', '1d', 'pilot-light'],
    ['1h', '23h59m59s', 'pilot-light'],
    ['24h', '24h', 'backup-restore'],
    ['1m', '1h', 'pilot-light'],
    ['59s', '1h', 'warm-standby'],
    ['1m', '59m59s', 'warm-standby'],
    ['15m', '1d', 'pilot-light'],
    ['10s', '10m', 'warm-standby'],
    ['9s', '10m', 'active-active'],
    ['10s', '9m59s', 'active-active'],
    ['1h', '1m', 'active-active'],
  ])('RPO %s / RTO %s → %s, the cheapest that meets both', (rpo, rto, strategy) => {
    const advice = advise(objectives(rpo, rto));
    expect(advice.strategy).toBe(strategy);
    expect(advice.template).toBe(`runbooks/orders-${strategy}.yaml`);
    expect(advice.rejected.map((each) => each.strategy)).toEqual(STRATEGIES.filter((each) => each !== strategy));
  });

  it('takes RPO 0 and RTO 0 as typed on the command line, and says 0 rather than 0ms', () => {
    expect([parseObjective('0'), parseObjective('0s'), parseObjective('5m'), parseObjective('zero'), parseObjective('')]).toEqual([0, 0, 300_000, undefined, undefined]);
    const advice = advise({ rpoMs: 0, rtoMs: 0 });
    expect(advice).toEqual({
      strategy: 'active-active',
      template: 'runbooks/orders-active-active.yaml',
      why: 'active-active is the cheapest strategy that meets RPO 0 and RTO 0: it reaches RPO 0 and RTO 0 at best (RPO 0, RTO 0)',
      rejected: [
        { strategy: 'backup-restore', why: 'cannot meet RPO 0: its tightest RPO is 1h (RPO hours to days, RTO days)' },
        { strategy: 'pilot-light', why: 'cannot meet RPO 0: its tightest RPO is 1m (RPO minutes to hours, RTO hours)' },
        { strategy: 'warm-standby', why: 'cannot meet RPO 0: its tightest RPO is 10s (RPO minutes, RTO minutes to hours)' },
      ],
    });
    expect(advise({ rpoMs: HOUR, rtoMs: 0 }).rejected[1]).toEqual({ strategy: 'pilot-light', why: 'cannot meet RTO 0: its tightest RTO is 1h (RPO minutes to hours, RTO hours)' });
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
      'orders.yaml:8:21: spec.objectives.rpo: warning: rpo 1m is tighter than backup-restore usually achieves (RPO hours to days, RTO days); consider warm-standby',
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
