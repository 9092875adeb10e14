import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ServerDeps } from '../deps.ts';

const READY_TIMEOUT_MS = 2_000;
const Availability = z.enum(['ok', 'unavailable']);
const Readiness = z.object({ ready: z.boolean(), postgres: Availability, temporal: Availability });

/** 'ok', or 'unavailable' with the reason in the log only (the probe is unauthenticated). */
async function probe(deps: Pick<ServerDeps, 'logger'>, dependency: string, check: () => Promise<unknown>): Promise<'ok' | 'unavailable'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return 'ok';
  } catch (error) {
    deps.logger.warn({ err: error, dependency }, 'readiness check failed');
    return 'unavailable';
  } finally {
    clearTimeout(timer);
  }
}

/** Probes and metrics: unauthenticated, for load balancers, orchestrators and Prometheus. */
export function healthRoutes(deps: ServerDeps): FastifyPluginAsyncZod {
  return async (app) => {
    const open = { public: true };
    app.get('/healthz', {
      config: open,
      schema: { tags: ['health'], summary: 'Liveness: the process answers', security: [], response: { 200: z.object({ ok: z.literal(true) }) } },
    }, async () => ({ ok: true as const }));

    app.get('/readyz', {
      config: open,
      schema: { tags: ['health'], summary: 'Readiness: Postgres and Temporal answer (503 when either does not)', security: [], response: { 200: Readiness, 503: Readiness } },
    }, async (_, reply) => {
      const [postgres, temporal] = await Promise.all([
        probe(deps, 'postgres', () => deps.pool.query('SELECT 1')),
        probe(deps, 'temporal', () => deps.client.connection.workflowService.getSystemInfo({})),
      ]);
      const ready = postgres === 'ok' && temporal === 'ok';
      return reply.code(ready ? 200 : 503).send({ ready, postgres, temporal });
    });

    app.get('/metrics', {
      config: open,
      schema: { tags: ['health'], summary: 'Prometheus metrics: runs by status, DR posture per service, process metrics', security: [] },
    }, async (_, reply) => reply.type(deps.registry.contentType).send(await deps.registry.metrics()));
  };
}
