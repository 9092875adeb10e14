import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listDrills } from '../../runtime/posture.ts';
import { DrillListShape, DrillRecordShape } from '../api-schemas.ts';
import type { ServerDeps } from '../deps.ts';
import { ApiError, errorResponses } from '../errors.ts';

const DrillListQuery = z.object({
  service: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** Recorded restore-verification drills. */
export function drillRoutes(deps: ServerDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/api/drills', {
      schema: {
        tags: ['drills'], summary: 'Recorded drills, newest first, with measured RPO/RTO against the objectives', querystring: DrillListQuery,
        response: { 200: DrillListShape, ...errorResponses(400, 401) },
      },
    }, async (request) => ({ drills: (await listDrills(deps.protection, request.query)).map((drill) => ({ ...drill })) }));

    app.get('/api/drills/:runId', {
      schema: {
        tags: ['drills'], summary: 'One drill record', params: z.object({ runId: z.string().min(1) }),
        response: { 200: DrillRecordShape, ...errorResponses(401, 404) },
      },
    }, async (request) => {
      const drill = await deps.protection.getDrill(request.params.runId);
      if (!drill) throw new ApiError(404, 'not_found', `no drill ${request.params.runId}: list drills with \`golive drill history\``);
      return { ...drill };
    });
  };
}
