import swagger from '@fastify/swagger';
import Fastify, { LogController } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { authenticate } from './auth.ts';
import type { ServerDeps } from './deps.ts';
import { BODY_LIMIT_BYTES, replyNotFound, replyToFrameworkError, replyWithError } from './errors.ts';
import { createRegistry } from './metrics.ts';
import { createOidcVerifier } from './oidc.ts';
import { checklistRoutes } from './routes/checklists.ts';
import { controlRoutes } from './routes/controls.ts';
import { drillRoutes } from './routes/drills.ts';
import { failoverRoutes } from './routes/failovers.ts';
import { flagRoutes } from './routes/flags.ts';
import { healthRoutes } from './routes/health.ts';
import { ofrepRoutes } from './routes/ofrep.ts';
import { postureRoutes } from './routes/posture.ts';
import { rolloutRoutes } from './routes/rollouts.ts';
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

/** How OFREP routes authenticate (server/routes/ofrep.ts), in the document only when the server serves flags. */
const FLAG_KEY_SCHEME = {
  type: 'http', scheme: 'bearer',
  description: 'A flag-read key (`glf_…`, from `golive flags keys create`) as a bearer token or in X-API-Key: OFREP routes only, and only its own environment\'s flags.',
} as const;

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

  const { flags, flagCache } = deps;
  const servesFlags = flags !== undefined && flagCache !== undefined;
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'golive API', version: '0.1.0', description: 'Runs, controls, drills, failovers and DR posture of golive. Every /api route but this document needs a bearer token.' },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: BEARER_DESCRIPTION }, ...(servesFlags ? { flagKey: FLAG_KEY_SCHEME } : {}) } },
      security: [{ bearerAuth: [] }],
    },
    transform: jsonSchemaTransform,
  });
  app.get(OPENAPI_PATH, { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  for (const routes of [healthRoutes, runRoutes, controlRoutes, drillRoutes, failoverRoutes, rolloutRoutes, checklistRoutes, postureRoutes]) await app.register(routes(deps));
  if (flags && flagCache) {
    await app.register(ofrepRoutes({ flags, flagCache }));
    await app.register(flagRoutes({ flags, roles: deps.roles }));
  }
  if (deps.slack?.signingSecret !== undefined && !deps.slack.socketMode) {
    // Loaded only when Slack is served: the Bolt app and its Web API client are big.
    const { slackEventRoutes } = await import('../slack/app.ts');
    await app.register(slackEventRoutes(deps));
  }
  await app.ready();
  return app;
}

/** golive's HTTP server: health, readiness, metrics, the API, and the Slack app (over HTTP or Socket Mode) when configured. */
export async function startHttpServer(deps: Omit<ServerDeps, 'registry' | 'logger'>, options: { host: string; port: number; logger: Logger }): Promise<HttpServer> {
  const app = await buildApp({ ...deps, registry: createRegistry(deps), logger: options.logger });
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const slack = deps.slack?.socketMode ? (await import('../slack/app.ts')).startSocketMode({ ...deps, logger: options.logger }) : undefined;
  return {
    url: `http://${options.host}:${port}`,
    async close() {
      await slack?.stop();
      await app.close();
    },
  };
}
