import { durationMs, formatDuration } from './duration.ts';
import type { PathSegment } from './problems.ts';
import { STRATEGIES, type Checklist, type RolloutPlan, type Runbook, type Strategy } from './schema.ts';
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

/**
 * The tightest objectives each strategy is built for. Tighter targets than these are a sign
 * the strategy will not meet them in a real disaster.
 */
const STRATEGY_FLOORS: Record<Strategy, { rpo: string; rto: string; typical: string }> = {
  'backup-restore': { rpo: '1h', rto: '1h', typical: 'RPO hours to a day, RTO about a day' },
  'pilot-light': { rpo: '1m', rto: '30m', typical: 'RPO minutes to hours, RTO hours' },
  'warm-standby': { rpo: '10s', rto: '5m', typical: 'RPO minutes, RTO minutes to hours' },
  'active-active': { rpo: '0s', rto: '0s', typical: 'RPO and RTO near zero' },
};

function fits(strategy: Strategy, rpoMs: number, rtoMs: number): boolean {
  const floor = STRATEGY_FLOORS[strategy];
  return rpoMs >= durationMs(floor.rpo) && rtoMs >= durationMs(floor.rto);
}

/** Objectives tighter than the chosen DR strategy can usually meet. */
export const objectivesFitStrategy: WarningRule = (parsed) => {
  if (parsed.kind !== 'Runbook') return [];
  const { strategy, objectives } = parsed.definition.spec;
  const rpoMs = durationMs(objectives.rpo);
  const rtoMs = durationMs(objectives.rto);
  if (fits(strategy, rpoMs, rtoMs)) return [];
  const floor = STRATEGY_FLOORS[strategy];
  const better = STRATEGIES.find((candidate) => fits(candidate, rpoMs, rtoMs)) ?? 'active-active';
  const field = rpoMs < durationMs(floor.rpo) ? 'rpo' : 'rto';
  const value = formatDuration(field === 'rpo' ? rpoMs : rtoMs);
  return [{
    path: ['spec', 'objectives', field],
    message: `${field} ${value} is tighter than ${strategy} usually achieves (${floor.typical}); consider ${better}`,
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

/** Rules run on every valid definition. Add a rule here (or push one at start-up) to extend validation. */
export const warningRules: WarningRule[] = [objectivesFitStrategy, rollbackReadsCompensatedSteps];

export function runWarningRules(parsed: ParsedDefinition, rules: readonly WarningRule[] = warningRules): Finding[] {
  return rules.flatMap((rule) => rule(parsed));
}
