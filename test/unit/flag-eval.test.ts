import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bucketOf, evaluateFlag, isFailure, type FlagEvaluation, type FlagRule } from '../../definitions/flag-eval.ts';

const flag = (percent: number, extra: Partial<FlagRule> = {}): FlagRule => ({ key: 'checkout-v2', environment: 'production', enabled: true, percent, ...extra });
const valueOf = (evaluation: FlagEvaluation) => (isFailure(evaluation) ? undefined : evaluation.value);
const users = Array.from({ length: 10_000 }, (_, index) => `user-${index}`);
/** The share of `users` that get true, in percent. */
const share = (rule: FlagRule) => (users.filter((user) => valueOf(evaluateFlag(rule, user)) === true).length / users.length) * 100;

describe('bucketOf', () => {
  it('is the first four bytes of sha256(flag:key) as a big-endian uint32, mod 10000', () => {
    const digest = createHash('sha256').update('checkout-v2:user-42').digest();
    expect(bucketOf('checkout-v2', 'user-42')).toBe(digest.readUInt32BE(0) % 10_000);
    expect(bucketOf('checkout-v2', 'user-42')).toBe(bucketOf('checkout-v2', 'user-42'));
  });

  it('buckets flags independently: the keys in one flag\'s first 10% are not another\'s', () => {
    const inA = users.filter((user) => bucketOf('flag-a', user) < 1_000);
    const alsoInB = inA.filter((user) => bucketOf('flag-b', user) < 1_000);
    expect(alsoInB.length / inA.length).toBeGreaterThan(0.07);
    expect(alsoInB.length / inA.length).toBeLessThan(0.13);
  });
});

describe('evaluateFlag', () => {
  it('splits 10,000 keys within a point of 10%, 50% and 12.34%', () => {
    expect(Math.abs(share(flag(10)) - 10)).toBeLessThan(1);
    expect(Math.abs(share(flag(50)) - 50)).toBeLessThan(1);
    expect(Math.abs(share(flag(12.34)) - 12.34)).toBeLessThan(1);
  });

  it('keeps every key that was in at 10% in at 50% and 100%', () => {
    const inAtTen = users.filter((user) => valueOf(evaluateFlag(flag(10), user)) === true);
    expect(inAtTen.filter((user) => valueOf(evaluateFlag(flag(50), user)) !== true)).toEqual([]);
    expect(inAtTen.filter((user) => valueOf(evaluateFlag(flag(100), user)) !== true)).toEqual([]);
  });

  it('answers SPLIT with variant and metadata between 0 and 100', () => {
    const answer = evaluateFlag(flag(50), 'user-1');
    expect(answer).toEqual({
      key: 'checkout-v2', value: expect.any(Boolean), variant: valueOf(answer) === true ? 'on' : 'off', reason: 'SPLIT', metadata: { percent: 50, environment: 'production' },
    });
  });

  it('answers STATIC at 0% and 100%, with no targeting key needed', () => {
    expect(evaluateFlag(flag(0), undefined)).toMatchObject({ value: false, variant: 'off', reason: 'STATIC' });
    expect(evaluateFlag(flag(100), undefined)).toMatchObject({ value: true, variant: 'on', reason: 'STATIC' });
  });

  it('answers false with DISABLED for a flag that is off, whatever its percentage', () => {
    expect(evaluateFlag(flag(100, { enabled: false }), 'user-1')).toMatchObject({ value: false, variant: 'off', reason: 'DISABLED' });
    expect(share(flag(100, { enabled: false }))).toBe(0);
  });

  it('needs a targeting key to split: TARGETING_KEY_MISSING without one', () => {
    for (const missing of [undefined, '']) {
      const answer = evaluateFlag(flag(25), missing);
      expect(isFailure(answer)).toBe(true);
      expect(answer).toEqual({ key: 'checkout-v2', errorCode: 'TARGETING_KEY_MISSING', errorDetails: expect.stringContaining('send context.targetingKey') });
    }
  });
});
