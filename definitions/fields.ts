import { z } from 'zod';
import { DURATION_HINT, parseDuration } from './duration.ts';

/** Field types shared by every definition kind. */
export const durationText = z.string().refine((value) => parseDuration(value) !== undefined, `must be ${DURATION_HINT}`);
export const identifier = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be lower-case letters, digits and dashes (like check-lag)');
export const nonEmpty = z.string().trim().min(1);
