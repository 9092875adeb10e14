import { z } from 'zod';
import { identifier, nonEmpty, positiveDuration } from './fields.ts';
import { assertions } from './steps.ts';
import type { Target, TargetType } from './targets.ts';
import { sqlPlaceholderProblem } from './templates.ts';

/**
 * How a runbook's service is protected: where its backups go and how they are kept
 * (`spec.backup`), and how restore-verification drills prove them (`spec.drill`).
 */

export const BackupPolicy = z.strictObject({
  /** The postgres target that is backed up. */
  source: identifier,
  /** A filesystem or s3 target the backups are written to. */
  store: identifier,
  retention: z
    .strictObject({ keep: z.number().int().min(1).optional(), maxAge: positiveDuration.optional() })
    .default({}),
  /** Rows per table fingerprinted at backup time, compared by every drill. */
  sampleRows: z.number().int().min(0).default(1000),
});
export type BackupPolicy = z.output<typeof BackupPolicy>;

/** A drill's SQL runs as written: no placeholders (see sqlPlaceholderProblem). */
const drillSql = nonEmpty.superRefine((sql, ctx) => {
  const problem = sqlPlaceholderProblem(sql);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const DrillPolicy = z.strictObject({
  /** The postgres server (its maintenance database) where each drill creates its scratch database. */
  server: identifier,
  /** Queries run on the restored copy; each must return rows that pass its assertions. */
  smoke: z
    .array(z.strictObject({ id: identifier, sql: drillSql, assert: assertions.optional() }))
    .default([]),
  /** The health check whose first pass stops the RTO clock. */
  health: z.strictObject({ sql: drillSql.default('SELECT 1'), within: positiveDuration.default('5m') }).default({ sql: 'SELECT 1', within: '5m' }),
  /** A service is stale when no drill passed within this window. */
  window: positiveDuration.default('30d'),
});
export type DrillPolicy = z.output<typeof DrillPolicy>;

interface ProtectedSpec {
  targets: Record<string, Target>;
  backup?: BackupPolicy;
  drill?: DrillPolicy;
}

/** Backup and drill settings name declared targets of the right type; a drill needs a backup policy. */
export function checkProtection(spec: ProtectedSpec, ctx: z.RefinementCtx): void {
  const expect = (path: (string | number)[], name: string, types: readonly TargetType[]) => {
    const type = spec.targets[name]?.type;
    if (type === undefined || !types.includes(type)) {
      ctx.addIssue({ code: 'custom', path: ['spec', ...path], message: `target "${name}" must be a declared ${types.join(' or ')} target` });
    }
  };
  if (spec.backup) {
    expect(['backup', 'source'], spec.backup.source, ['postgres']);
    expect(['backup', 'store'], spec.backup.store, ['filesystem', 's3']);
  }
  if (spec.drill) {
    expect(['drill', 'server'], spec.drill.server, ['postgres']);
    if (!spec.backup) ctx.addIssue({ code: 'custom', path: ['spec', 'drill'], message: 'a drill restores backups: add spec.backup' });
  }
}
