import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { readPosture } from '../../runtime/posture.ts';
import { PostureShape } from '../api-schemas.ts';
import type { ServerDeps } from '../deps.ts';
import { errorResponses } from '../errors.ts';

/** The DR posture of every protected service, judged from the server's runbooks folder and golive's records. */
export function postureRoutes(deps: ServerDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/api/posture', {
      schema: {
        tags: ['posture'], summary: 'Per service: objectives, last backup age, last drill, last failover drill, status (ok, at-risk, stale)',
        response: { 200: PostureShape, ...errorResponses(401) },
      },
    }, async () => {
      const report = await readPosture(deps.protection, deps.runbooksDir);
      const services = report.services.map((service) => ({ ...service, lastFailoverDrill: service.lastFailoverDrill && { ...service.lastFailoverDrill } }));
      return { ...report, services };
    });
  };
}
