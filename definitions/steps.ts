import { z } from 'zod';
import { ACTIONS, ACTION_NAMES, isActionName, type ActionName, type ActionSpec } from './actions.ts';
import { parseAssertion } from './assertions.ts';
import { identifier, positiveDuration } from './fields.ts';
import { ROLES } from './roles.ts';
import type { Target } from './targets.ts';
import { placeholderProblem, placeholders, sqlPlaceholderProblem } from './templates.ts';

/** Runbook steps (action, approval gate, pause) and the rules that tie them to targets and to each other. */

/** One assertion on a step's result, checked for shape when the file is read. */
const assertion = z.string().superRefine((text, ctx) => {
  try {
    parseAssertion(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

/** `assert:` takes one assertion or a list. */
export const assertions = z.union([assertion, z.array(assertion)]);

export const approvalGate = z.strictObject({
  approvers: z.array(z.enum(ROLES)).min(1, 'an approval needs at least one approver role'),
  timeout: positiveDuration.default('24h'),
  message: z.string().optional(),
});

const pause = z.strictObject({ duration: positiveDuration.optional(), reason: z.string().optional() });

/**
 * Whether the `with` value at `path` (or a value holding it) contains a placeholder. Such a
 * value is checked when the step runs, after the workflow has filled it in.
 */
function holdsPlaceholder(values: unknown, path: readonly PropertyKey[]): boolean {
  let current = values;
  for (const key of path) {
    if (typeof current === 'string') break;
    if (current === null || typeof current !== 'object') return false;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return typeof current === 'string' && placeholders(current).length > 0;
}

/** The `with` of an action step, defaults applied; as written while placeholders wait to be filled in. */
function actionInput(action: ActionName, values: Record<string, unknown>): Record<string, unknown> {
  const parsed = ACTIONS[action].with.safeParse(values);
  return parsed.success ? parsed.data : values;
}

/**
 * One step as written. Exactly one of `action`, `approval`, `pause`; the parsed form carries
 * `kind` so workflow code can switch on it.
 */
export const StepInput = z
  .strictObject({
    id: identifier,
    description: z.string().optional(),
    action: z.string().optional(),
    target: identifier.optional(),
    with: z.record(z.string(), z.unknown()).optional(),
    timeout: positiveDuration.optional(),
    retries: z.number().int().min(0).max(20).optional(),
    assert: assertions.optional(),
    approval: approvalGate.optional(),
    pause: pause.nullable().optional(),
    compensates: identifier.optional(),
  })
  .superRefine((step, ctx) => {
    const kinds = (['action', 'approval', 'pause'] as const).filter((key) => step[key] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({ code: 'custom', message: 'a step has exactly one of action, approval or pause' });
      return;
    }
    if (kinds[0] !== 'action') {
      for (const key of ['target', 'with', 'timeout', 'retries', 'assert'] as const) {
        if (step[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `only action steps take ${key}` });
      }
      return;
    }
    const name = step.action ?? '';
    if (!isActionName(name)) {
      ctx.addIssue({ code: 'custom', path: ['action'], message: `unknown action "${name}" (known: ${ACTION_NAMES.join(', ')})` });
      return;
    }
    const parsed = ACTIONS[name].with.safeParse(step.with ?? {});
    for (const issue of parsed.error?.issues ?? []) {
      if (!holdsPlaceholder(step.with, issue.path)) ctx.addIssue({ ...issue, path: ['with', ...issue.path] });
    }
    const { sql }: ActionSpec = ACTIONS[name];
    const sqlProblem = sql && sqlPlaceholderProblem(step.with?.[sql.field], sql.params);
    if (sql && sqlProblem) ctx.addIssue({ code: 'custom', path: ['with', sql.field], message: sqlProblem });
  })
  .transform((step) => {
    const common = { id: step.id, description: step.description, compensates: step.compensates };
    if (step.approval) return { kind: 'approval' as const, ...common, approval: step.approval };
    if (step.pause !== undefined) return { kind: 'pause' as const, ...common, pause: step.pause ?? {} };
    const action = step.action as keyof typeof ACTIONS;
    const parsedWith = actionInput(action, step.with ?? {});
    const spec: ActionSpec = ACTIONS[action];
    return {
      kind: 'action' as const,
      ...common,
      action,
      target: step.target,
      with: parsedWith,
      /** Names of further targets the action reads from `with` (see ActionSpec.targetRefs). */
      targetRefs: Object.keys(spec.targetRefs ?? {}).flatMap((field) => (parsedWith[field] === undefined ? [] : [String(parsedWith[field])])),
      timeout: step.timeout,
      retries: step.retries,
      assert: step.assert === undefined ? [] : [step.assert].flat(),
    };
  });

export type Step = z.output<typeof StepInput>;
export type ActionStep = Extract<Step, { kind: 'action' }>;
export type ApprovalStep = Extract<Step, { kind: 'approval' }>;
export type PauseStep = Extract<Step, { kind: 'pause' }>;

interface StepsWithTargets {
  targets: Record<string, Target>;
  steps: Step[];
  rollback: Step[];
}

/** Cross-field rules: unique ids, declared targets of the right type, placeholders, compensations. */
export function checkReferences(spec: StepsWithTargets, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  const walk = (list: Step[], section: 'steps' | 'rollback') => {
    list.forEach((step, index) => {
      const at = ['spec', section, index];
      if (seen.has(step.id)) ctx.addIssue({ code: 'custom', path: [...at, 'id'], message: `duplicate step id "${step.id}"` });
      if (step.kind === 'action') checkActionStep(step, at, spec.targets, seen, ctx);
      if (section === 'steps' && step.compensates !== undefined) {
        ctx.addIssue({ code: 'custom', path: [...at, 'compensates'], message: 'compensates belongs on rollback steps' });
      }
      seen.add(step.id);
    });
  };
  walk(spec.steps, 'steps');
  const forward = new Set(spec.steps.map((step) => step.id));
  walk(spec.rollback, 'rollback');
  spec.rollback.forEach((step, index) => {
    if (step.kind === 'approval') {
      ctx.addIssue({ code: 'custom', path: ['spec', 'rollback', index, 'approval'], message: 'rollback cannot wait for an approval' });
    }
    if (step.compensates !== undefined && !forward.has(step.compensates)) {
      ctx.addIssue({ code: 'custom', path: ['spec', 'rollback', index, 'compensates'], message: `no step "${step.compensates}" in spec.steps` });
    }
  });
}

export function checkActionStep(
  step: ActionStep,
  at: (string | number)[],
  targets: Record<string, Target>,
  earlier: ReadonlySet<string>,
  ctx: z.RefinementCtx,
): void {
  const spec = ACTIONS[step.action];
  const wanted: readonly string[] = spec.targets;
  const declared = Object.keys(targets);
  const checkTarget = (name: string | undefined, types: readonly string[], path: (string | number)[]) => {
    if (name === undefined) {
      ctx.addIssue({ code: 'custom', path, message: `${step.action} needs a target of type ${types.join(' or ')}` });
      return;
    }
    const target = targets[name];
    if (!target) {
      ctx.addIssue({ code: 'custom', path, message: `target "${name}" is not declared in spec.targets (declared: ${declared.join(', ') || 'none'})` });
    } else if (!types.includes(target.type)) {
      ctx.addIssue({ code: 'custom', path, message: `${step.action} acts on ${types.join(' or ')} targets; "${name}" is ${target.type}` });
    }
  };
  if (wanted.length > 0) checkTarget(step.target, wanted, [...at, 'target']);
  else if (step.target !== undefined) ctx.addIssue({ code: 'custom', path: [...at, 'target'], message: `${step.action} takes no target` });
  const refs: Readonly<Record<string, readonly string[]>> = 'targetRefs' in spec ? spec.targetRefs : {};
  for (const [field, types] of Object.entries(refs)) {
    const value = step.with[field];
    // An optional reference left out (confirmVia); the `with` schema requires those that are not.
    if (value === undefined) continue;
    checkTarget(typeof value === 'string' ? value : undefined, types, [...at, 'with', field]);
  }
  for (const [field, value] of Object.entries(step.with)) {
    for (const name of placeholders(value)) {
      const problem = placeholderProblem(name, earlier);
      if (problem) ctx.addIssue({ code: 'custom', path: [...at, 'with', field], message: problem });
    }
  }
}

