import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { sendControl } from '../../runtime/runs.ts';
import type { ControlName } from '../../workflows/definitions.ts';
import { CONTROL_NAMES, ControlAnswer, strictBody } from '../api-schemas.ts';
import { principalOf } from '../auth.ts';
import type { ServerDeps } from '../deps.ts';
import { errorResponses } from '../errors.ts';

const SUMMARIES: Record<ControlName, string> = {
  approve: 'Approve the gate the run waits at (four-eyes: not the requester; needs a role the gate names)',
  reject: 'Reject the gate the run waits at; the run fails and rolls back',
  pause: 'Pause the run after its current step',
  resume: 'Resume a paused run, or end a pause step early',
  skip: 'Skip the current step, or the one named in step',
  abort: 'Stop the run and roll back what it changed',
  promote: 'End the current bake of a rollout now (its next phase still waits for its approval)',
  rollback: 'Roll a rollout\'s flag back as its plan says and end it',
  waive: 'Accept a failed or open checklist item, with the reason in comment (release managers, not the requester)',
};

const ControlParams = z.object({ id: z.string().min(1).describe('run id') });
const ControlBody = strictBody({
  comment: z.string().max(2_000).optional().describe('why; kept in the audit trail'),
  step: z.string().min(1).max(200).optional().describe('the step this is meant for (default: the current one)'),
}).nullish();

/** The controls of a run, acted on as the token's user through the `api` channel. */
export function controlRoutes(deps: ServerDeps): FastifyPluginAsyncZod {
  return async (app) => {
    for (const control of CONTROL_NAMES) {
      app.post(`/api/runs/:id/${control}`, {
        schema: {
          tags: ['controls'], summary: SUMMARIES[control], params: ControlParams, body: ControlBody,
          response: { 200: ControlAnswer, ...errorResponses(400, 401, 403, 404, 409, 503) },
        },
      }, async (request) => answerControl(deps, request, request.params.id, control, { comment: request.body?.comment, stepId: request.body?.step }));
    }
  };
}

/** Sends one control as the token's user through the `api` channel: what every control route answers. */
export async function answerControl(deps: ServerDeps, request: FastifyRequest, runId: string, control: ControlName, fields: { comment?: string; stepId?: string }) {
  const actor = principalOf(request).user;
  const stack = { client: deps.client, store: deps.store, taskQueue: deps.taskQueue };
  const message = await sendControl(stack, runId, control, { actor, channel: 'api', ...fields });
  request.log.info({ runId, control, actor }, 'control applied through the API');
  return { runId, control, actor, message };
}
