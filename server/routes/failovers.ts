import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listFailovers, readFailover, startFailover } from '../../runtime/failovers.ts';
import { FailoverListShape, FailoverRecordShape, StartedRun, strictBody } from '../api-schemas.ts';
import { principalOf } from '../auth.ts';
import type { ServerDeps } from '../deps.ts';
import { errorResponses } from '../errors.ts';
import { serverRunbook } from './runs.ts';

const FailoverListQuery = z.object({
  service: z.string().min(1).optional(),
  drill: z.enum(['true', 'false']).optional().describe('true: drills only; false: real failovers only; absent: both'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const StartFailoverBody = strictBody({
  runbook: z.string().min(1).max(200).describe("metadata.name of a runbook in the server's runbooks folder"),
  reason: z.string().min(1).max(2_000).describe('why: the incident; kept in the audit trail and the failover record'),
  force: z.string().min(1).max(2_000).optional().describe('go on although the measured exposure exceeds the RPO objective, and why'),
  environment: z.string().min(1).max(200).optional().describe("a drill: run against this drill environment's targets (spec.environments)"),
});

/** Failovers and failover drills: started by an incident commander, recorded live while they run. */
export function failoverRoutes(deps: ServerDeps): FastifyPluginAsyncZod {
  const { roles } = deps;
  return async (app) => {
    app.post('/api/failovers', {
      schema: {
        tags: ['failovers'],
        summary: "Start a failover (or, with environment, a failover drill) of a runbook from the server's folder; the token's user must be an incident commander",
        body: StartFailoverBody,
        response: { 201: StartedRun, ...errorResponses(400, 401, 403, 404, 409, 413, 415) },
      },
    }, async (request, reply) => {
      const { runbook: name, reason, force, environment } = request.body;
      const entry = await serverRunbook(deps.runbooksDir, name, request.log);
      const user = principalOf(request).user;
      const runId = await startFailover(deps.client, roles, {
        runbook: entry.runbook, requestedBy: user, channel: 'api', taskQueue: deps.taskQueue, source: name, reason, force, environment, slackChannel: deps.slack?.channel,
      });
      request.log.info({ runId, runbook: name, file: entry.file, user, environment }, 'failover started through the API');
      return reply.code(201).send({ runId });
    });

    app.get('/api/failovers', {
      schema: {
        tags: ['failovers'], summary: 'Recorded failovers and failover drills, newest first', querystring: FailoverListQuery,
        response: { 200: FailoverListShape, ...errorResponses(400, 401) },
      },
    }, async (request) => {
      const { service, drill, limit } = request.query;
      const failovers = await listFailovers(deps.pool, { service, drill: drill === undefined ? undefined : drill === 'true', limit });
      return { failovers: failovers.map((failover) => ({ ...failover })) };
    });

    app.get('/api/failovers/:id', {
      schema: {
        tags: ['failovers'],
        summary: "One failover's record: status, reason, T_d, measured RTO and exposure against the objectives, fencing, each step",
        params: z.object({ id: z.string().min(1).describe('run id') }),
        response: { 200: FailoverRecordShape, ...errorResponses(401, 404) },
      },
    }, async (request) => ({ ...(await readFailover(deps.pool, request.params.id)) }));
  };
}
