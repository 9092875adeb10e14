import { z } from 'zod';
import type { ActionSpec } from './actions.ts';
import { identifier, nonEmpty, positiveDuration } from './fields.ts';

/**
 * The actions of going live: the evidence a checklist item can prove itself with, and the step
 * that moves a feature flag. Part of the one catalog in actions.ts.
 */

/**
 * A k6 threshold as k6 itself writes it: STATISTIC OPERATOR NUMBER (`p(95)<500`, `rate<0.01`,
 * `count>=1000`). Checked when the file is read, so a typo fails `golive validate`, not the go-live.
 */
export const K6_THRESHOLD = /^\s*(avg|min|med|max|count|rate|value|p\(\s*\d+(?:\.\d+)?\s*\))\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*$/;

export const GO_LIVE_ACTIONS = {
  'prometheus.rules': {
    summary: 'lists the alerting rules Prometheus has loaded (/api/v1/rules) and checks that the named ones are there',
    targets: ['prometheus'],
    with: z.strictObject({
      /** Alert names that must be loaded; empty: at least minRules alerting rules of any name. */
      alerts: z.array(nonEmpty).default([]),
      minRules: z.number().int().min(0).default(1),
    }),
  },
  'secrets.scan': {
    summary: 'scans a repository folder for keys and tokens; reports FILE:LINE and the pattern, never the secret',
    targets: ['filesystem'],
    with: z.strictObject({
      /** Folder (or file) names skipped anywhere in the tree. */
      exclude: z.array(nonEmpty).default(['.git', 'node_modules', '.golive', 'dist', 'vendor']),
      /** Files larger than this are skipped (and counted), in bytes. */
      maxFileBytes: z.number().int().min(1).default(1_048_576),
    }),
  },
  'loadtest.summary': {
    summary: "reads a k6 JSON summary and checks its metrics against thresholds written as k6 writes them (p(95)<500)",
    targets: ['filesystem'],
    with: z.strictObject({
      /** The summary file, relative to the target's path (or the target's path itself when it is a file). */
      file: z.string().optional(),
      /** metric name → k6 threshold expressions: { http_req_duration: ['p(95)<500'], http_req_failed: ['rate<0.01'] }. */
      thresholds: z.record(nonEmpty, z.array(z.string().regex(K6_THRESHOLD, 'must be a k6 threshold like p(95)<500, rate<0.01 or count>1000')).min(1)),
      /** The summary may be at most this old (by its file time). */
      maxAge: positiveDuration.optional(),
    }),
  },
  'golive.dr-evidence': {
    summary: "judges a service's DR from golive's own records: newest backup younger than the RPO, a restore drill passed within the policy window",
    targets: [],
    with: z.strictObject({ service: nonEmpty }),
  },
  'flag.set-rollout': {
    summary: "sets a feature flag's rollout percentage (built-in flags, or Unleash through its Admin API) and audits from → to",
    targets: [],
    with: z.strictObject({
      key: nonEmpty,
      environment: nonEmpty.default('production'),
      percent: z.number().min(0).max(100),
      provider: z.enum(['builtin', 'unleash']).default('builtin'),
      /** The unleash target, for provider unleash. */
      unleash: identifier.optional(),
      /** Who caused the change, for the flag's audit (the run's requester, or the person who promoted). */
      actor: nonEmpty.optional(),
    }),
    targetRefs: { unleash: ['unleash'] },
  },
} as const satisfies Record<string, ActionSpec>;
