import { z } from 'zod';
import { CONTROLS, type ControlName } from '../workflows/definitions.ts';

/**
 * The shapes the API answers with, for the OpenAPI document and for clients that check what
 * they receive (cli/remote.ts). Objects are loose: they name the fields a client relies on and
 * pass every other field of golive's records through unchanged.
 */

/** The one shape of every 4xx and 5xx answer. */
export const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

export const CONTROL_NAMES = Object.keys(CONTROLS).filter((name): name is ControlName => name in CONTROLS);

export const RunSummaryShape = z.looseObject({
  runId: z.string(),
  kind: z.string(),
  definitionName: z.string(),
  service: z.string(),
  requestedBy: z.string(),
  status: z.string().describe('running, waiting-approval, paused, rolling-back, succeeded, failed or aborted'),
  currentStep: z.string().optional(),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
});

const StepShape = z.looseObject({ id: z.string(), kind: z.string(), status: z.string() });

export const GateShape = z.object({
  stepId: z.string(),
  approvers: z.array(z.string()).describe('roles that may decide; never the requester'),
  message: z.string().optional(),
  since: z.string(),
  deadline: z.string().describe('when the gate times out and the run rolls back'),
});

export const RunStateShape = z.looseObject({
  runId: z.string(),
  runbook: z.string(),
  service: z.string(),
  requestedBy: z.string(),
  status: z.string(),
  startedAt: z.string(),
  steps: z.array(StepShape),
  rollback: z.array(StepShape),
  gate: GateShape.optional().describe('the approval gate the run waits at, while it waits'),
});

export const RunListShape = z.object({ runs: z.array(RunSummaryShape) });

export const AuditEventShape = z.looseObject({
  runId: z.string(),
  seq: z.number().int(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  stepId: z.string().optional(),
});

export const TimelineShape = z.object({ runId: z.string(), events: z.array(AuditEventShape) });

export const DrillRecordShape = z.looseObject({
  runId: z.string(),
  runbook: z.string(),
  service: z.string(),
  status: z.string().describe('passed or failed'),
  finishedAt: z.string(),
  objectives: z.looseObject({ rpo: z.string(), rto: z.string() }),
  measured: z.looseObject({ rpoMs: z.number().optional(), rtoMs: z.number().optional() }),
});

export const DrillListShape = z.object({ drills: z.array(DrillRecordShape) });

export const FailoverRecordShape = z.looseObject({
  runId: z.string(),
  runbook: z.string(),
  service: z.string(),
  status: z.string().describe('running, waiting-approval, paused, rolling-back, succeeded, failed or aborted'),
  reason: z.string().describe('why the incident commander failed over'),
  requestedBy: z.string(),
  drill: z.boolean().describe('a drill against a drill environment, not a real failover'),
  environment: z.string().optional(),
  trigger: z.enum(['manual', 'schedule']).optional().describe('how a drill was started: by a person, or by its failover-drill schedule'),
  declaredAt: z.string().describe("T_d: the failover's start, on the worker's clock"),
  recoveredAt: z.string().optional(),
  objectives: z.looseObject({ rpo: z.string(), rto: z.string() }),
  measured: z.looseObject({ rtoMs: z.number().optional() }).describe('measured RTO, paused time, the exposure (data at risk) before promotion'),
  verdict: z.looseObject({ rto: z.string(), rpo: z.string() }).describe('met, missed or not-measured'),
  fenced: z.string().describe('fenced, not-primary, unreachable or not-run: whether the old primary can still take writes'),
  steps: z.array(z.looseObject({ id: z.string(), status: z.string() })),
});

export const FailoverListShape = z.object({ failovers: z.array(FailoverRecordShape) });

export const FailoverDrillPostureShape = z.looseObject({
  runId: z.string(),
  at: z.string().describe("T_d: when the drill was declared"),
  status: z.string().describe('running, waiting-approval, paused, rolling-back, succeeded, failed or aborted'),
  environment: z.string().describe('the drill environment (spec.environments) it ran against'),
  rtoMs: z.number().optional().describe('measured RTO; absent when not measured'),
  objectiveRtoMs: z.number().describe("the RTO objective of the runbook it drilled"),
  verdict: z.enum(['met', 'missed', 'not-measured']),
  exposureSeconds: z.number().optional().describe('the data at risk before promotion, in seconds'),
});

export const PostureShape = z.looseObject({
  at: z.string(),
  runbooksDir: z.string(),
  services: z.array(z.looseObject({
    service: z.string(),
    status: z.string().describe('ok, at-risk or stale'),
    problems: z.array(z.string()),
    lastFailoverDrill: FailoverDrillPostureShape.nullable().describe("the service's newest failover drill, by T_d; null when there was none"),
  })),
  unreadable: z.array(z.string()),
});

export const RolloutRecordShape = z.looseObject({
  runId: z.string(),
  plan: z.string(),
  service: z.string(),
  flag: z.looseObject({ key: z.string(), provider: z.string(), environment: z.string() }),
  requestedBy: z.string(),
  status: z.string().describe('gate, baking, waiting-approval, paused, rolling-back, succeeded, rolled-back, failed or aborted'),
  phase: z.number().int().describe('the phase in progress, 1-based; 0 before the first percentage is set'),
  percent: z.number().describe("the flag's percentage as the run last set it"),
  guards: z.array(z.looseObject({ name: z.string(), threshold: z.string(), at: z.string() })),
  phases: z.array(z.looseObject({ percent: z.number(), bake: z.string(), status: z.string() })),
  startedAt: z.string(),
  steps: z.array(z.looseObject({ id: z.string(), status: z.string() })),
});

export const RolloutListShape = z.object({ rollouts: z.array(RolloutRecordShape) });

/** `golive rollout status RUN --json`, and GET /api/rollouts/{id} with the whole record beside it. */
export const RolloutStatusShape = z.object({
  runId: z.string(),
  plan: z.string(),
  service: z.string(),
  flag: z.string().describe("the flag's key"),
  status: z.string().describe('gate, baking, waiting-approval, paused, rolling-back, succeeded, rolled-back, failed or aborted'),
  phase: z.number().int(),
  percent: z.number(),
  nextPhaseAt: z.string().nullable().describe('when the next phase starts if nothing breaches; null while the run waits for a person, or has ended'),
  guards: z.array(z.object({
    name: z.string(),
    value: z.number().nullable().describe('null: no data'),
    threshold: z.string().describe('what breaches: `> 0.01` for a max, `< 0.5` for a min'),
    ok: z.boolean().nullable().describe('null: inconclusive (no data, or Prometheus did not answer)'),
    at: z.string(),
  })),
  steps: z.array(z.looseObject({ id: z.string(), kind: z.string(), status: z.string() })),
});

export const RolloutAnswerShape = RolloutStatusShape.extend({ record: RolloutRecordShape });

const ChecklistDecisionShape = z.looseObject({ actor: z.string(), at: z.string(), comment: z.string().optional() });

export const ChecklistRecordShape = z.looseObject({
  runId: z.string(),
  checklist: z.string(),
  service: z.string(),
  requestedBy: z.string(),
  status: z.string().describe('running, passed, failed or aborted'),
  startedAt: z.string(),
  deadline: z.string().describe('until when sign-offs are taken; open items then fail'),
  reason: z.string().optional().describe('why the gate did not pass: the required items that failed or stayed open'),
  summary: z.looseObject({ total: z.number(), required: z.number(), passed: z.number(), failed: z.number(), waived: z.number(), open: z.number() }),
  items: z.array(z.looseObject({
    id: z.string(),
    phase: z.string(),
    title: z.string(),
    verification: z.string().describe('automatic or sign-off'),
    required: z.boolean(),
    status: z.string().describe('pending, checking, waiting-sign-off, passed, failed or waived'),
    reason: z.string().optional(),
    signedOff: ChecklistDecisionShape.optional(),
    rejected: ChecklistDecisionShape.optional(),
    waiver: ChecklistDecisionShape.optional().describe('a failed or open item accepted by a release manager, with the reason'),
  })),
});

export const ChecklistListShape = z.object({ runs: z.array(ChecklistRecordShape) });

export const StartedRun = z.object({ runId: z.string() });

export const ControlAnswer = z.object({ runId: z.string(), control: z.enum(CONTROL_NAMES), actor: z.string(), message: z.string() });

/** A body that names only its fields: anything else, like actor or roles, is refused, naming the field. */
export function strictBody<Shape extends z.ZodRawShape>(shape: Shape) {
  const accepted = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code !== 'unrecognized_keys') return undefined;
      const fields = issue.keys.map((key) => `"${key}"`).join(', ');
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${fields} (accepted: ${accepted}); the actor is the token's user, and roles come from golive's own configuration`;
    },
  });
}
