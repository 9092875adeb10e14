import { createHash } from 'node:crypto';

/**
 * How golive's built-in flags evaluate: a boolean flag rolled out to a percentage of targeting
 * keys. Pure: the OFREP routes call it for every evaluation, with the flag from memory.
 */

/** What an evaluation needs of a flag. */
export interface FlagRule {
  key: string;
  environment: string;
  enabled: boolean;
  /** 0..100, two decimals at most (the table's numeric(5, 2)). */
  percent: number;
}

/** The OpenFeature reasons golive's flags answer with. */
export type EvaluationReason = 'STATIC' | 'SPLIT' | 'DISABLED';

export interface EvaluationSuccess {
  key: string;
  value: boolean;
  variant: 'on' | 'off';
  reason: EvaluationReason;
  metadata: { percent: number; environment: string };
}

export interface EvaluationFailure {
  key: string;
  errorCode: 'TARGETING_KEY_MISSING';
  errorDetails: string;
}

export type FlagEvaluation = EvaluationSuccess | EvaluationFailure;

/** Buckets per flag: percent * 100, so 12.34% is exactly 1234 buckets. */
export const BUCKETS = 10_000;

/** Flag keys and environment names golive accepts: a word of letters, digits, `.`, `_` and `-`. */
export const FLAG_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/**
 * The bucket (0..9999) of one targeting key for one flag: the first four bytes of
 * sha256(`flag:targetingKey`) as a big-endian uint32, mod 10000. Hashing the flag key in makes
 * flags bucket independently: being in the first 10% of one flag says nothing about another.
 */
export function bucketOf(flagKey: string, targetingKey: string): number {
  return createHash('sha256').update(`${flagKey}:${targetingKey}`).digest().readUInt32BE(0) % BUCKETS;
}

/**
 * Whether a bucket is in at `percent`: below percent * 100. The same bucket is below every
 * larger percentage too, so a key that is in at 10% stays in at 50% (sticky rollouts).
 */
export const inRollout = (bucket: number, percent: number): boolean => bucket < Math.round(percent * 100);

const answer = (flag: FlagRule, value: boolean, reason: EvaluationReason): EvaluationSuccess => ({
  key: flag.key,
  value,
  variant: value ? 'on' : 'off',
  reason,
  metadata: { percent: flag.percent, environment: flag.environment },
});

/**
 * Evaluates a flag for one targeting key. A disabled flag is off for everyone (DISABLED); 0% and
 * 100% are the same for everyone and need no targeting key (STATIC); anything between is a
 * pseudorandom split by the key's bucket (SPLIT), and without a key it cannot be decided.
 */
export function evaluateFlag(flag: FlagRule, targetingKey: string | undefined): FlagEvaluation {
  if (!flag.enabled) return answer(flag, false, 'DISABLED');
  if (flag.percent <= 0) return answer(flag, false, 'STATIC');
  if (flag.percent >= 100) return answer(flag, true, 'STATIC');
  if (targetingKey === undefined || targetingKey === '') {
    return {
      key: flag.key,
      errorCode: 'TARGETING_KEY_MISSING',
      errorDetails: `flag ${flag.key} is rolled out to ${flag.percent}% of targeting keys: send context.targetingKey (a user or account id)`,
    };
  }
  return answer(flag, inRollout(bucketOf(flag.key, targetingKey), flag.percent), 'SPLIT');
}

export const isFailure = (evaluation: FlagEvaluation): evaluation is EvaluationFailure => 'errorCode' in evaluation;
