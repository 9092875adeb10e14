import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { readPosture } from '../runtime/posture.ts';
import { UserError, getRunState, unknownRun } from '../runtime/runs.ts';
import type { ProtectionStore } from '../store/protection.ts';
import type { RunStore } from '../store/runs.ts';

export interface ServerDeps {
  store: RunStore;
  /** Backups and drills, for drill history and posture. */
  protection: ProtectionStore;
  /** Where posture reads the runbooks of protected services. */
  runbooksDir: string;
  client: Client;
  pool: pg.Pool;
  registry: Registry;
  logger: Logger;
}

export interface Reply {
  status: number;
  body: unknown;
  contentType?: string;
}

export type Handler = (params: Record<string, string>, query: URLSearchParams) => Promise<Reply>;

const ok = (body: unknown): Reply => ({ status: 200, body });
export const notFound = (message: string): Reply => ({ status: 404, body: { error: message } });

const RunListQuery = z.object({
  service: z.string().min(1).optional(),
  status: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const DrillListQuery = z.object({
  service: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const badQuery = (error: z.ZodError): Reply => ({
  status: 400,
  body: { error: error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ') },
});

const READY_TIMEOUT_MS = 2_000;

/** 'ok', or 'unavailable' with the reason in the log only (the probe is unauthenticated). */
async function probe(deps: ServerDeps, dependency: string, check: () => Promise<unknown>): Promise<'ok' | 'unavailable'> {
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

async function readiness(deps: ServerDeps): Promise<Reply> {
  const [postgres, temporal] = await Promise.all([
    probe(deps, 'postgres', () => deps.pool.query('SELECT 1')),
    probe(deps, 'temporal', () => deps.client.connection.workflowService.getSystemInfo({})),
  ]);
  const ready = postgres === 'ok' && temporal === 'ok';
  return { status: ready ? 200 : 503, body: { ready, postgres, temporal } };
}

/** Route table: `METHOD /path/:param` → handler. */
export function routes(deps: ServerDeps): Record<string, Handler> {
  return {
    'GET /healthz': async () => ok({ ok: true }),
    'GET /readyz': async () => readiness(deps),
    'GET /metrics': async () => ({ status: 200, body: await deps.registry.metrics(), contentType: deps.registry.contentType }),
    'GET /api/runs': async (_, query) => {
      const filter = RunListQuery.safeParse(Object.fromEntries(query));
      if (!filter.success) return badQuery(filter.error);
      return ok({ runs: await deps.store.listRuns(filter.data) });
    },
    'GET /api/runs/:id': async ({ id = '' }) => {
      try {
        return ok(await getRunState(deps.client, deps.store, id));
      } catch (error) {
        if (error instanceof UserError) return notFound(error.message);
        throw error;
      }
    },
    'GET /api/runs/:id/timeline': async ({ id = '' }) => {
      const events = await deps.store.events(id);
      return events.length === 0 ? notFound(unknownRun(id).message) : ok({ runId: id, events });
    },
    'GET /api/drills': async (_, query) => {
      const filter = DrillListQuery.safeParse(Object.fromEntries(query));
      if (!filter.success) return badQuery(filter.error);
      return ok({ drills: await deps.protection.listDrills(filter.data) });
    },
    'GET /api/drills/:runId': async ({ runId = '' }) => {
      const drill = await deps.protection.getDrill(runId);
      return drill ? ok(drill) : notFound(`no drill ${runId}: list drills with \`golive drill history\``);
    },
    'GET /api/posture': async () => ok(await readPosture(deps.protection, deps.runbooksDir)),
  };
}
