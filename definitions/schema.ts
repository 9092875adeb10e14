import { z } from 'zod';
import { parseDuration, formatDuration } from './duration.ts';
import { identifier, nonEmpty, objectiveDuration, positiveDuration, slackChannelId } from './fields.ts';
import { ROLES } from './roles.ts';
import { approvalGate, checkActionStep, checkReferences, StepInput } from './steps.ts';
import { BackupPolicy, checkProtection, DrillPolicy } from './protection.ts';
import { TargetSchema } from './targets.ts';
import { checkFailover, DrillEnvironment } from './failover.ts';

export type { ActionStep, ApprovalStep, PauseStep, Step } from './steps.ts';

export const API_VERSION = 'golive/v1';
export const STRATEGIES = ['backup-restore', 'pilot-light', 'warm-standby', 'active-active'] as const;
export type Strategy = (typeof STRATEGIES)[number];

const header = <K extends string>(kind: K) => ({
  apiVersion: z.literal(API_VERSION, { error: `must be ${API_VERSION}` }),
  kind: z.literal(kind, { error: `must be ${kind}` }),
});

const metadata = z.strictObject({
  name: identifier,
  service: identifier,
  owners: z.array(nonEmpty).optional(),
  description: z.string().optional(),
  /** Where the service's runs, drill results and rollbacks are announced: one message per run, updated in place. */
  slack: z.strictObject({ channel: slackChannelId }).optional(),
});

export const RunbookSchema = z
  .strictObject({
    ...header('Runbook'),
    metadata,
    spec: z.strictObject({
      strategy: z.enum(STRATEGIES),
      objectives: z.strictObject({ rpo: objectiveDuration, rto: objectiveDuration }),
      targets: z.record(identifier, TargetSchema).default({}),
      backup: BackupPolicy.optional(),
      drill: DrillPolicy.optional(),
      steps: z.array(StepInput).min(1, 'a runbook needs at least one step'),
      rollback: z.array(StepInput).default([]),
      /** The health check through the switched path whose first pass stops a failover's RTO clock. */
      rtoStopsAt: identifier.optional(),
      /** Named sets of targets that replace the runbook's own: a failover drill runs against one. */
      environments: z.record(identifier, DrillEnvironment).default({}),
    }),
  })
  .superRefine((runbook, ctx) => {
    checkReferences(runbook.spec, ctx);
    checkProtection(runbook.spec, ctx);
    checkFailover(runbook.spec, ctx);
  });

export type Runbook = z.output<typeof RunbookSchema>;

/**
 * What the run engine executes: a runbook, or steps compiled from another definition (a rollout
 * plan), which has no DR strategy or objectives of its own.
 */
export type RunPlan = Omit<Runbook, 'spec'> & {
  spec: Omit<Runbook['spec'], 'strategy' | 'objectives'> & { strategy: Strategy | 'rollout'; objectives?: Runbook['spec']['objectives'] };
};

const checkItem = z
  .strictObject({
    id: identifier,
    title: nonEmpty,
    owner: nonEmpty,
    verification: z.enum(['automatic', 'sign-off']),
    /** The gate passes only when every required item passes or is waived; an optional item is reported, never blocking. */
    required: z.boolean().default(true),
    description: z.string().optional(),
    check: StepInput.optional(),
    approvers: z.array(z.enum(ROLES)).min(1).optional(),
  })
  .superRefine((item, ctx) => {
    // `in`, not `kind`: a check that failed to parse has no kind, and its own problems are reported.
    if (item.verification === 'automatic' && !(item.check && 'action' in item.check)) {
      ctx.addIssue({ code: 'custom', path: ['check'], message: 'an automatic item needs a check with an action' });
    }
    if (item.verification === 'sign-off' && item.check !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['check'], message: 'a sign-off item is checked by a person: remove check or make it automatic' });
    }
  });

export const CHECKLIST_PHASES = ['technical', 'process', 'business', 'strategy'] as const;

export const ChecklistSchema = z
  .strictObject({
    ...header('Checklist'),
    metadata: metadata.extend({ service: identifier.optional() }),
    spec: z.strictObject({
      targets: z.record(identifier, TargetSchema).default({}),
      phases: z
        .array(z.strictObject({ id: z.enum(CHECKLIST_PHASES), title: nonEmpty, items: z.array(checkItem).min(1) }))
        .min(1),
    }),
  })
  .superRefine((checklist, ctx) => {
    const seen = new Set<string>();
    checklist.spec.phases.forEach((phase, phaseIndex) =>
      phase.items.forEach((item, itemIndex) => {
        const at = ['spec', 'phases', phaseIndex, 'items', itemIndex];
        if (seen.has(item.id)) ctx.addIssue({ code: 'custom', path: [...at, 'id'], message: `duplicate item id "${item.id}"` });
        seen.add(item.id);
        if (item.check?.kind === 'action') checkActionStep(item.check, [...at, 'check'], checklist.spec.targets, new Set(), ctx);
      }),
    );
  });

export type Checklist = z.output<typeof ChecklistSchema>;

/** The most guard evaluations one rollout may plan: each is a few events in the run's Temporal history, which is bounded. */
export const MAX_GUARD_EVALUATIONS = 2_500;

export const GuardSchema = z.strictObject({
  name: identifier,
  target: identifier,
  query: nonEmpty,
  /** Breached when the value is above max or below min. */
  max: z.number().optional(),
  min: z.number().optional(),
  /** How often the query runs while users are exposed (bakes, approvals, holds). */
  interval: positiveDuration.default('1m'),
  /** Consecutive breaches that roll the flag back. */
  failureLimit: z.number().int().min(1).max(100).default(3),
  /** Consecutive answers without data (or without an answer) that hold the rollout for a person to judge. */
  inconclusiveLimit: z.number().int().min(1).max(100).default(5),
});
export type Guard = z.output<typeof GuardSchema>;

export const RolloutPhaseSchema = z.strictObject({
  percent: z.number().int().min(1).max(100),
  bake: positiveDuration.default('10m'),
  /** Ask before this phase's percentage is set. */
  approval: approvalGate
    .extend({
      /** What a gate nobody decides by its timeout does: roll back (the default) or go on. */
      onTimeout: z.enum(['rollback', 'promote']).default('rollback'),
    })
    .optional(),
});

export const RolloutPlanSchema = z
  .strictObject({
    ...header('RolloutPlan'),
    metadata,
    spec: z.strictObject({
      checklist: identifier.optional(),
      flag: z.strictObject({
        key: nonEmpty,
        provider: z.enum(['builtin', 'unleash']).default('builtin'),
        target: identifier.optional(),
        environment: nonEmpty.default('production'),
      }),
      targets: z.record(identifier, TargetSchema).default({}),
      phases: z.array(RolloutPhaseSchema).min(1),
      guards: z.array(GuardSchema).default([]),
      /** Where a breach or a rollback control leaves the flag: off (0), or the phase before the current one. */
      rollbackTo: z.enum(['zero', 'previous']).default('zero'),
    }),
  })
  .superRefine((plan, ctx) => {
    const percents = plan.spec.phases.map((phase) => phase.percent);
    percents.forEach((percent, index) => {
      if (index > 0 && percent <= (percents[index - 1] ?? 0)) {
        ctx.addIssue({ code: 'custom', path: ['spec', 'phases', index, 'percent'], message: 'phases must raise the percentage' });
      }
    });
    if (percents.at(-1) !== 100) {
      ctx.addIssue({ code: 'custom', path: ['spec', 'phases', percents.length - 1, 'percent'], message: 'the last phase must reach 100' });
    }
    const declared = plan.spec.targets;
    if (plan.spec.flag.provider === 'unleash' && declared[plan.spec.flag.target ?? '']?.type !== 'unleash') {
      ctx.addIssue({ code: 'custom', path: ['spec', 'flag', 'target'], message: 'an unleash flag names a declared target of type unleash' });
    }
    plan.spec.guards.forEach((guard, index) => {
      const at = ['spec', 'guards', index];
      if (declared[guard.target]?.type !== 'prometheus') {
        ctx.addIssue({ code: 'custom', path: [...at, 'target'], message: `target "${guard.target}" must be a declared prometheus target` });
      }
      if (guard.max === undefined && guard.min === undefined) {
        ctx.addIssue({ code: 'custom', path: at, message: 'a guard needs max or min' });
      }
    });
    checkGuardBudget(plan.spec.phases, plan.spec.guards, ctx);
  });

/** A plan whose bakes would run its guards more often than a run's history holds is refused with the interval that fits. */
function checkGuardBudget(phases: Array<{ bake: string }>, guards: Guard[], ctx: z.RefinementCtx): void {
  const bakeMs = phases.reduce((sum, phase) => sum + (parseDuration(phase.bake) ?? 0), 0);
  guards.forEach((guard, index) => {
    const evaluations = Math.ceil(bakeMs / (parseDuration(guard.interval) ?? Infinity));
    if (evaluations > MAX_GUARD_EVALUATIONS) {
      const fits = formatDuration(Math.ceil(bakeMs / MAX_GUARD_EVALUATIONS / 60_000) * 60_000);
      ctx.addIssue({
        code: 'custom',
        path: ['spec', 'guards', index, 'interval'],
        message: `every ${guard.interval} over ${formatDuration(bakeMs)} of bakes is ${evaluations} evaluations, more than ${MAX_GUARD_EVALUATIONS} a rollout holds: use interval ${fits} or longer`,
      });
    }
  });
}

export type RolloutPlan = z.output<typeof RolloutPlanSchema>;

export const DEFINITION_SCHEMAS = {
  Runbook: RunbookSchema,
  Checklist: ChecklistSchema,
  RolloutPlan: RolloutPlanSchema,
} as const;
export type DefinitionKind = keyof typeof DEFINITION_SCHEMAS;
export type Definition = Runbook | Checklist | RolloutPlan;
