import { z } from 'zod';
import { FLAG_NAME } from '../definitions/flag-eval.ts';

/**
 * The shapes of golive's flag API (server/routes/flags.ts), for its OpenAPI document and for the
 * CLI, which checks what it receives (cli/flags.ts). Like server/api-schemas.ts, answers are loose.
 */

export const flagName = (what: string) =>
  z.string().regex(FLAG_NAME, `${what} must be a word of letters, digits, ".", "_" and "-" (at most 200), like checkout-v2`);

/** Two decimals at most, as the flags table stores it. */
export const Percent = z.number().min(0).max(100).describe('0 to 100, rounded to two decimals');

export const FlagStateShape = z.looseObject({
  key: z.string(),
  environment: z.string(),
  enabled: z.boolean().describe('false: every evaluation answers false (DISABLED), whatever the percentage'),
  percent: z.number().describe('the share of targeting keys that get true'),
  updatedAt: z.string().optional(),
  updatedBy: z.string().optional(),
});

const Setting = z.object({ percent: z.number().optional(), enabled: z.boolean().optional() });

export const FlagChangeShape = z.looseObject({
  id: z.number(),
  actor: z.string().describe('who made the change: a person, or the requester of the run that did'),
  channel: z.string().optional().describe('api, cli, slack or run'),
  runId: z.string().optional(),
  from: Setting.describe('empty when the change created the flag'),
  to: Setting,
  comment: z.string().optional(),
  at: z.string(),
});

export const FlagListShape = z.object({ flags: z.array(FlagStateShape) });

export const FlagDetailShape = z.object({ flag: FlagStateShape, changes: z.array(FlagChangeShape).describe('newest first') });

const FullSetting = z.object({ percent: z.number(), enabled: z.boolean() });

export const FlagUpdateShape = z.object({
  flag: FlagStateShape,
  change: z.looseObject({ from: FullSetting.nullable().describe('null: the flag was created'), to: FullSetting, changed: z.boolean() }),
});

export const FlagKeyShape = z.looseObject({
  id: z.string(),
  name: z.string(),
  environment: z.string().describe('the only environment whose flags this key evaluates'),
  createdBy: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().optional(),
});

export const CreatedFlagKeyShape = FlagKeyShape.extend({
  secret: z.string().describe('glf_…: shown this once; golive keeps only its hash'),
});

export const FlagKeyListShape = z.object({ keys: z.array(FlagKeyShape) });

export const RevokedFlagKeyShape = z.object({ key: FlagKeyShape, changed: z.boolean().describe('false: it was already revoked') });
