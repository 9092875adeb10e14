import swagger from '@fastify/swagger';
import Fastify, { LogController } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { authenticate } from './auth.ts';
import type { ServerDeps } from './deps.ts';
import { BODY_LIMIT_BYTES, replyNotFound, replyToFrameworkError, replyWithError } from './errors.ts';
import { createRegistry } from './metrics.ts';
import { createOidcVerifier } from './oidc.ts';
import { controlRoutes } from './routes/controls.ts';
import { drillRoutes } from './routes/drills.ts';
import { failoverRoutes } from './routes/failovers.ts';
import { healthRoutes } from './routes/health.ts';
import { postureRoutes } from './routes/posture.ts';
import { runRoutes } from './routes/runs.ts';

export type { ServerDeps } from './deps.ts';

export interface HttpServer {
  url: string;
  close(): Promise<void>;
}

const OPENAPI_PATH = '/api/openapi.json';

const BEARER_DESCRIPTION = [
  'A golive API token (`glv_…`, from `golive token create`), or, when the server sets GOLIVE_OIDC_ISSUER and',
  'GOLIVE_OIDC_AUDIENCE, a JWT from that OpenID Connect provider. The token\'s user is the actor of everything the',
  'request does; roles come from the server\'s GOLIVE_ROLES and `golive roles grant`.',
].join(' ');

/** Every golive route on one fastify instance: authentication as one hook, zod schemas that also make the OpenAPI document. */
export async function buildApp(deps: ServerDeps) {
  const app = Fastify({
    loggerInstance: deps.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    forceCloseConnections: true,
    frameworkErrors: replyToFrameworkError,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', authenticate({ identity: deps.identity, verifyJwt: deps.oidc && createOidcVerifier(deps.oidc) }));
  app.addHook('onResponse', async (request, reply) => {
    if (!request.principal) return;
    const fields = { method: request.method, path: request.url.split('?')[0], status: reply.statusCode, user: request.principal.user, via: request.principal.via };
    if (request.method === 'GET') request.log.debug(fields, 'api request');
    else request.log.info(fields, 'api request');
  });
  app.setErrorHandler(replyWithError);
  app.setNotFoundHandler(replyNotFound);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'golive API', version: '0.1.0', description: 'Runs, controls, drills, failovers and DR posture of golive. Every /api route but this document needs a bearer token.' },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: BEARER_DESCRIPTION } } },
      security: [{ bearerAuth: [] }],
    },
    transform: jsonSchemaTransform,
  });
  app.get(OPENAPI_PATH, { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  for (const routes of [healthRoutes, runRoutes, controlRoutes, drillRoutes, failoverRoutes, postureRoutes]) await app.register(routes(deps));
  await app.ready();
  return app;
}

/** golive's HTTP server: health, readiness, metrics and the API. */
export async function startHttpServer(deps: Omit<ServerDeps, 'registry' | 'logger'>, options: { host: string; port: number; logger: Logger }): Promise<HttpServer> {
  const app = await buildApp({ ...deps, registry: createRegistry(deps), logger: options.logger });
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return { url: `http://${options.host}:${port}`, close: () => app.close() };
}
