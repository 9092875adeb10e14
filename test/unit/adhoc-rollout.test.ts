import { describe, expect, it } from 'vitest';
import { adhocPlan, parseGuard, parsePhases, type AdhocOptions } from '../../runtime/adhoc-rollout.ts';
import { UserError } from '../../runtime/errors.ts';

const cli = (option: string) => `--${option}`;
const refusal = (options: AdhocOptions) => {
  try {
    adhocPlan(options, cli);
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as Error).message;
  }
  throw new Error('the plan was accepted');
};

describe('an ad-hoc rollout plan', () => {
  it('rolls the flag out 10, 50, 100 with 30m bakes, no guards and no approvals by default', () => {
    const plan = adhocPlan({ flag: 'checkout-v2', service: 'checkout' });
    expect(plan.metadata).toMatchObject({ name: 'checkout-v2', service: 'checkout' });
    expect(plan.spec.flag).toEqual({ key: 'checkout-v2', provider: 'builtin', environment: 'production' });
    expect(plan.spec.phases).toEqual([{ percent: 10, bake: '30m' }, { percent: 50, bake: '30m' }, { percent: 100, bake: '30m' }]);
    expect([plan.spec.guards, plan.spec.targets, plan.spec.checklist, plan.spec.rollbackTo]).toEqual([[], {}, undefined, 'zero']);
  });

  it('names the plan after the flag key as a definition name, and keeps the key as given', () => {
    const plan = adhocPlan({ flag: 'Checkout.V2', service: 'checkout', environment: 'staging', phases: [25, 100], bake: '2s' });
    expect(plan.metadata.name).toBe('checkout-v2');
    expect(plan.spec.flag).toMatchObject({ key: 'Checkout.V2', environment: 'staging' });
    expect(plan.spec.phases.map((phase) => [phase.percent, phase.bake])).toEqual([[25, '2s'], [100, '2s']]);
  });

  it('asks a release manager before every phase after the first with approvals', () => {
    const plan = adhocPlan({ flag: 'search', service: 'web', approvals: true, checklist: 'go-live' });
    expect(plan.spec.phases.map((phase) => phase.approval?.approvers)).toEqual([undefined, ['release-manager'], ['release-manager']]);
    expect(plan.spec.phases[2]?.approval).toMatchObject({ timeout: '24h', onTimeout: 'rollback', message: 'Go to 100% of search?' });
    expect(plan.spec.checklist).toBe('go-live');
  });

  it('watches guards on a Prometheus, at an interval the bakes can hold', () => {
    const plan = adhocPlan({
      flag: 'search', service: 'web', bake: '7d', prometheus: 'http://prometheus:9090',
      guards: ['error-rate:sum(rate(errors[5m])) / sum(rate(requests[5m])) < 0.01', 'throughput:sum(rate(requests[5m]))>5'],
    });
    expect(plan.spec.targets).toEqual({ metrics: { type: 'prometheus', url: 'http://prometheus:9090' } });
    expect(plan.spec.guards).toEqual([
      expect.objectContaining({ name: 'error-rate', target: 'metrics', query: 'sum(rate(errors[5m])) / sum(rate(requests[5m]))', max: 0.01, interval: '13m' }),
      expect.objectContaining({ name: 'throughput', query: 'sum(rate(requests[5m]))', min: 5 }),
    ]);
  });

  it('tells each mistake by the option that caused it', () => {
    expect(refusal({ flag: 'f', service: 'web', phases: [50, 10] })).toBe('--phases 50,10: phases must raise the percentage; the last phase must reach 100');
    expect(refusal({ flag: 'f', service: 'web', phases: [10, 50] })).toBe('--phases 10,50: the last phase must reach 100');
    expect(refusal({ flag: 'f', service: 'web', phases: [0, 100] })).toMatch(/^--phases 0,100: /);
    expect(refusal({ flag: 'f', service: 'web', bake: 'soon' })).toBe('--bake soon: must be a duration like 30s, 5m, 1h30m or 2d');
    expect(refusal({ flag: 'f', service: 'Web Shop' })).toBe('--service Web Shop: must be lower-case letters, digits and dashes (like check-lag)');
    expect(refusal({ flag: 'f', service: 'web', checklist: 'Go Live' })).toMatch(/^--checklist Go Live: must be lower-case/);
    expect(refusal({ flag: 'f', service: 'web', guards: ['errors:rate(x)<1'] })).toBe('--guards needs --prometheus URL: the Prometheus the guard queries');
    expect(refusal({ flag: 'f', service: 'web', provider: 'unleash' })).toMatch(/^--provider unleash: an ad-hoc rollout moves golive's built-in flags only/);
  });

  it('reads phases and guards as typed, and refuses what is not', () => {
    expect(parsePhases('10, 50,100')).toEqual([10, 50, 100]);
    expect(() => parsePhases('10,half,100', cli)).toThrow('--phases 10,half,100: give whole percentages separated by commas, like 10,50,100');
    expect(parseGuard('lag:max(lag_seconds) > -1.5e-3')).toEqual({ name: 'lag', query: 'max(lag_seconds)', min: -0.0015 });
    expect(parseGuard('errors:rate(x[5m]) > 0 < 2')).toEqual({ name: 'errors', query: 'rate(x[5m]) > 0', max: 2 });
    expect(() => parseGuard('no bound here', cli)).toThrow(/^--guards no bound here: write NAME:QUERY<MAX/);
  });
});
