import type { FastifyBaseLogger } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ADHOC_SOURCE, adhocPlan } from '../../runtime/adhoc-rollout.ts';
import type { RolloutPlan } from '../../definitions/schema.ts';
import { UserError } from '../../runtime/errors.ts';
import {
  findRolloutPlan, listRollouts, planChecklist, readRollout, requireReleaseManager, rolloutStatus, startRollout,
} from '../../runtime/rollouts.ts';
import { rolloutQuery, type ControlName, type RolloutRecord, type StepState } from '../../workflows/definitions.ts';
import { ControlAnswer, RolloutAnswerShape, RolloutListShape, StartedRun, strictBody } from '../api-schemas.ts';
import { principalOf } from '../auth.ts';
import type { ServerDeps } from '../deps.ts';
import { answerControl } from './controls.ts';
import { errorResponses } from '../errors.ts';

const RolloutListQuery = z.object({
  service: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const StartRolloutBody = strictBody({
  plan: z.string().min(1).max(200).optional().describe("metadata.name of a rollout plan in the server's rollouts folder; or, for an ad-hoc rollout, flag and service"),
  flag: z.string().min(1).max(200).optional().describe('ad hoc: the key of the built-in flag to roll out'),
  service: z.string().min(1).max(200).optional().describe('ad hoc: the service the flag belongs to'),
  phases: z.array(z.number().int()).min(1).max(20).optional().describe('ad hoc: rising percentages ending at 100 (default [10, 50, 100])'),
  bake: z.string().min(1).max(50).optional().describe('ad hoc: how long each phase bakes, like 30m (default 30m)'),
  environment: z.string().min(1).max(200).optional().describe("ad hoc: the flag's environment (default production)"),
  provider: z.enum(['builtin', 'unleash']).optional().describe('ad hoc: builtin only; an Unleash flag needs a plan with an unleash target'),
  approvals: z.boolean().optional().describe('ad hoc: a release manager approves every phase after the first'),
  checklist: z.string().min(1).max(200).optional().describe("ad hoc: a checklist in the server's checklists folder that gates the start"),
  comment: z.string().max(2_000).optional().describe('why; kept in the audit trail'),
});
type StartRolloutRequest = z.infer<typeof StartRolloutBody>;

const ADHOC_FIELDS = ['flag', 'service', 'phases', 'bake', 'environment', 'provider', 'approvals', 'checklist'] as const;

/** The controls a rollout takes, also under /api/runs/{id}/CONTROL with the same answers. */
const ROLLOUT_CONTROLS = ['promote', 'pause', 'resume', 'abort', 'rollback', 'approve', 'reject'] as const satisfies readonly ControlName[];

const SUMMARIES: Record<(typeof ROLLOUT_CONTROLS)[number], string> = {
  promote: 'End the current bake now (the next phase still waits for its approval, if it has one)',
  pause: 'Hold the rollout at its current percentage; guards keep watching',
  resume: 'Resume a held rollout',
  abort: 'Stop the rollout and roll the flag back as the plan says',
  rollback: "Roll the flag back as the plan says (to 0, or to the previous phase) and end the rollout",
  approve: 'Approve the phase the rollout waits at (four-eyes: not the requester; needs a role the gate names)',
  reject: 'Reject the phase the rollout waits at; the flag rolls back',
};

const RunParams = z.object({ id: z.string().min(1).describe('run id') });
/** Nullish: a POST with no body at all (`curl -X POST …/promote`) arrives as null. */
const ControlBody = strictBody({ comment: z.string().max(2_000).optional().describe('why; kept in the audit trail') }).nullish();

/** Records as plain object types, so they meet the loose response shapes (interfaces carry no index signature). */
const openSteps = (steps: StepState[]) => steps.map((step) => ({ ...step }));
const openRecord = (record: RolloutRecord) => ({
  ...record, flag: { ...record.flag }, guards: record.guards.map((guard) => ({ ...guard })), phases: record.phases.map((phase) => ({ ...phase })), steps: openSteps(record.steps),
});

/** The plan a start asks for: one from the server's folder by name, or an ad-hoc one from the body's fields. */
async function requestedPlan(deps: ServerDeps, body: StartRolloutRequest, log: FastifyBaseLogger): Promise<{ plan: RolloutPlan; source: string; file?: string }> {
  const adhoc = ADHOC_FIELDS.filter((field) => body[field] !== undefined);
  if (body.plan !== undefined) {
    if (adhoc.length > 0) {
      throw new UserError(`${adhoc.join(', ')}: give either plan (a rollout plan in the server's rollouts folder, which says its own phases) or flag and service (an ad-hoc rollout), not both`);
    }
    const { plan, file } = await findRolloutPlan(deps.rolloutsDir ?? 'rollouts', body.plan, log, "the server's rollouts folder");
    return { plan, source: body.plan, file };
  }
  if (body.flag === undefined || body.service === undefined) {
    const missing = body.flag === undefined ? 'flag' : 'service';
    throw new UserError(`${missing}: give plan (the name of a rollout plan in the server's rollouts folder), or flag and service for an ad-hoc rollout`);
  }
  const plan = adhocPlan({
    flag: body.flag, service: body.service, phases: body.phases, bake: body.bake, environment: body.environment,
    provider: body.provider, approvals: body.approvals, checklist: body.checklist,
  });
  return { plan, source: ADHOC_SOURCE };
}

/** Rollouts: started by a release manager, recorded live while they run, controlled like any run. */
export function rolloutRoutes(deps: ServerDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post('/api/rollouts', {
      schema: {
        tags: ['rollouts'],
        summary: "Start a phased rollout of a plan from the server's folder, or an ad-hoc one of a built-in flag; the token's user must be a release manager",
        body: StartRolloutBody,
        response: { 201: StartedRun, ...errorResponses(400, 401, 403, 404, 413, 415) },
      },
    }, async (request, reply) => {
      const user = principalOf(request).user;
      // Before any file is read: a person who may not start a rollout learns nothing about the server's plans.
      await requireReleaseManager(deps.roles, user, 'start a rollout');
      const { plan, source, file } = await requestedPlan(deps, request.body, request.log);
      const checklist = await planChecklist(plan, deps.checklistsDir ?? 'checklists');
      const runId = await startRollout(deps.client, deps.roles, {
        plan, checklist, requestedBy: user, channel: 'api', source, comment: request.body.comment, taskQueue: deps.taskQueue, slackChannel: deps.slack?.channel,
      });
      request.log.info({ runId, plan: plan.metadata.name, source, file, user }, 'rollout started through the API');
      return reply.code(201).send({ runId });
    });

    app.get('/api/rollouts', {
      schema: {
        tags: ['rollouts'], summary: 'Recorded rollouts, newest first', querystring: RolloutListQuery,
        response: { 200: RolloutListShape, ...errorResponses(400, 401) },
      },
    }, async (request) => ({ rollouts: (await listRollouts(deps.pool, request.query)).map(openRecord) }));

    app.get('/api/rollouts/:id', {
      schema: {
        tags: ['rollouts'],
        summary: "A rollout's status (phase, percentage, next phase, each guard's latest reading, the steps), with its whole record under record",
        params: RunParams,
        response: { 200: RolloutAnswerShape, ...errorResponses(401, 404) },
      },
    }, async (request) => {
      const record = await readRollout(deps.pool, request.params.id, (id) => deps.client.workflow.getHandle(id).query(rolloutQuery));
      const status = rolloutStatus(record);
      return { ...status, steps: openSteps(status.steps), record: openRecord(record) };
    });

    for (const control of ROLLOUT_CONTROLS) {
      app.post(`/api/rollouts/:id/${control}`, {
        schema: {
          tags: ['rollouts'], summary: SUMMARIES[control], params: RunParams, body: ControlBody,
          response: { 200: ControlAnswer, ...errorResponses(400, 401, 403, 404, 409, 503) },
        },
      }, async (request) => answerControl(deps, request, request.params.id, control, { comment: request.body?.comment }));
    }
  };
}
