import { z } from 'zod';
import { nonEmpty } from './fields.ts';
import { TargetSchema, type Target } from './targets.ts';
import type { Step } from './steps.ts';

/** The failover rules of a runbook: the re-check before promotion, the RTO clock, drill environments. */

/** Targets that replace the runbook's own of the same name and type when a drill runs in this environment. */
export const DrillEnvironment = z.strictObject({
  description: nonEmpty.optional(),
  targets: z.record(z.string(), TargetSchema),
});

interface FailoverSpec {
  steps: Step[];
  targets: Record<string, Target>;
  rtoStopsAt?: string;
  environments: Record<string, z.output<typeof DrillEnvironment>>;
}

const RTO_CHECKS = ['http.wait-healthy', 'http.check'];

export function checkFailover(spec: FailoverSpec, ctx: z.RefinementCtx): void {
  spec.steps.forEach((step, index) => {
    if (step.kind !== 'action' || step.action !== 'postgres.promote') return;
    const before = spec.steps[index - 1];
    const recheck = before?.kind === 'action' && before.action === 'postgres.replication-lag' && before.target === step.target;
    if (!recheck) {
      ctx.addIssue({
        code: 'custom',
        path: ['spec', 'steps', index],
        message: `promote step ${step.id} must come right after a postgres.replication-lag step of ${step.target ?? 'its target'}: the exposure is measured again immediately before promotion, not only before the gate`,
      });
    }
  });
  if (spec.rtoStopsAt !== undefined) {
    const named = spec.steps.find((step) => step.id === spec.rtoStopsAt);
    if (!named || named.kind !== 'action' || !RTO_CHECKS.includes(named.action)) {
      ctx.addIssue({
        code: 'custom',
        path: ['spec', 'rtoStopsAt'],
        message: `must name a step of spec.steps with action ${RTO_CHECKS.join(' or ')} (the health check through the switched path)`,
      });
    }
  }
  for (const [name, environment] of Object.entries(spec.environments)) {
    for (const [targetName, target] of Object.entries(environment.targets)) {
      const own = spec.targets[targetName];
      const path = ['spec', 'environments', name, 'targets', targetName];
      if (!own) ctx.addIssue({ code: 'custom', path, message: `environment ${name} replaces target ${targetName}, which spec.targets does not declare` });
      else if (own.type !== target.type) ctx.addIssue({ code: 'custom', path: [...path, 'type'], message: `must be ${own.type}, the type of target ${targetName}` });
    }
  }
}

/** The runbook with the named environment's targets in place of its own; unknown names list the known ones. */
export function inEnvironment<R extends { spec: FailoverSpec }>(runbook: R, environment: string): R {
  const found = runbook.spec.environments[environment];
  if (!found) {
    const known = Object.keys(runbook.spec.environments);
    throw new Error(`no environment ${environment} in the runbook (${known.length > 0 ? `known: ${known.join(', ')}` : 'it declares none under spec.environments'})`);
  }
  return { ...runbook, spec: { ...runbook.spec, targets: { ...runbook.spec.targets, ...found.targets } } };
}
