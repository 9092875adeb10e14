import { cheapestFitting, missedObjective, STRATEGY_BANDS } from './advisor.ts';
import { durationMs, formatDuration } from './duration.ts';
import type { PathSegment } from './problems.ts';
import type { Checklist, RolloutPlan, Runbook } from './schema.ts';
import { placeholders } from './templates.ts';

/** A valid definition together with its kind, so rules can narrow on `kind`. */
export type ParsedDefinition =
  | { kind: 'Runbook'; definition: Runbook }
  | { kind: 'Checklist'; definition: Checklist }
  | { kind: 'RolloutPlan'; definition: RolloutPlan };

export interface Finding {
  path: PathSegment[];
  message: string;
}

/**
 * A rule that looks at a valid definition and returns advice. Findings never make a file
 * invalid; the loader reports them as warnings with the position of `path`.
 */
export type WarningRule = (parsed: ParsedDefinition) => Finding[];

/** Objectives tighter than the chosen DR strategy can usually meet; the bands are the advisor's. */
export const objectivesFitStrategy: WarningRule = (parsed) => {
  if (parsed.kind !== 'Runbook') return [];
  const { strategy, objectives } = parsed.definition.spec;
  const asked = { rpoMs: durationMs(objectives.rpo), rtoMs: durationMs(objectives.rto) };
  const field = missedObjective(strategy, asked);
  if (field === undefined) return [];
  const value = formatDuration(field === 'rpo' ? asked.rpoMs : asked.rtoMs);
  return [{
    path: ['spec', 'objectives', field],
    message: `${field} ${value} is tighter than ${strategy} usually achieves (${STRATEGY_BANDS[strategy].typical}); consider ${cheapestFitting(asked)}`,
  }];
};

/** The step ids whose results a value reads through `{{steps.STEP...}}`. */
function stepsRead(value: unknown): string[] {
  const ids = placeholders(value).flatMap((name) => {
    const [head, stepId] = name.split('.');
    return head === 'steps' && stepId !== undefined ? [stepId] : [];
  });
  return [...new Set(ids)];
}

/**
 * A rollback step that reads `{{steps.X...}}` should run only when X ran: it compensates X or
 * a step after X. Otherwise the value is empty when the run fails before X.
 */
export const rollbackReadsCompensatedSteps: WarningRule = (parsed) => {
  if (parsed.kind !== 'Runbook') return [];
  const order = parsed.definition.spec.steps.map((step) => step.id);
  return parsed.definition.spec.rollback.flatMap((step, index) => {
    if (step.kind !== 'action') return [];
    const guardIndex = step.compensates === undefined ? -1 : order.indexOf(step.compensates);
    return Object.entries(step.with).flatMap(([field, value]) =>
      stepsRead(value)
        .filter((stepId) => order.indexOf(stepId) > guardIndex)
        .map((stepId) => ({
          path: ['spec', 'rollback', index, 'with', field],
          message: `reads the result of "${stepId}" but may run when "${stepId}" did not: add compensates: ${stepId}`,
        })),
    );
  });
};

/**
 * Keeping a single backup leaves nothing to fall back on when the newest is corrupt, and a
 * backup taken while a drill restores the previous one deletes the drill's source.
 */
export const retentionKeepsAFallback: WarningRule = (parsed) => {
  if (parsed.kind !== 'Runbook' || parsed.definition.spec.backup?.retention.keep !== 1) return [];
  return [{ path: ['spec', 'backup', 'retention', 'keep'], message: 'keep 1 leaves no older backup when the newest turns out corrupt; keep at least 2' }];
};

/** Rules run on every valid definition. Add a rule here (or push one at start-up) to extend validation. */
export const warningRules: WarningRule[] = [objectivesFitStrategy, rollbackReadsCompensatedSteps, retentionKeepsAFallback];

export function runWarningRules(parsed: ParsedDefinition, rules: readonly WarningRule[] = warningRules): Finding[] {
  return rules.flatMap((rule) => rule(parsed));
}
