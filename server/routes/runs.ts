import type { FastifyBaseLogger } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { readRunbookCatalog, type CatalogEntry } from '../../runtime/runbook-catalog.ts';
import { listRuns, unknownRun } from '../../runtime/run-state.ts';
import { getRunState, startRunbookRun } from '../../runtime/runs.ts';
import { RUN_STATUSES, type RunState } from '../../workflows/definitions.ts';
import { RunListShape, RunStateShape, StartedRun, TimelineShape, strictBody } from '../api-schemas.ts';
import { principalOf } from '../auth.ts';
import type { ServerDeps } from '../deps.ts';
import { ApiError, errorResponses } from '../errors.ts';

const RunListQuery = z.object({
  service: z.string().min(1).optional(),
  status: z.enum(RUN_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const RunParams = z.object({ id: z.string().min(1).describe('run id') });

const StartRunBody = strictBody({
  runbook: z.string().min(1).max(200).describe("metadata.name of a runbook in the server's runbooks folder"),
  comment: z.string().max(2_000).optional().describe('why; kept in the audit trail'),
});

/** The state as a plain object type, so it meets the loose response shape (interfaces carry no index signature). */
const openState = (state: RunState) => ({ ...state, steps: state.steps.map((step) => ({ ...step })), rollback: state.rollback.map((step) => ({ ...step })) });

/** The runbook of that metadata.name in the server's folder: 404 naming the known ones, 409 when two files define it. */
export async function serverRunbook(runbooksDir: string, name: string, log: FastifyBaseLogger): Promise<CatalogEntry> {
  const catalog = await readRunbookCatalog(runbooksDir, log);
  const matches = catalog.byName.get(name) ?? [];
  if (matches.length === 0) {
    const known = catalog.names.length > 0 ? catalog.names.join(', ') : 'none';
    throw new ApiError(404, 'not_found', `no runbook named ${name} in the server's runbooks folder (known: ${known})`);
  }
  const [entry, ...others] = matches;
  if (!entry || others.length > 0) {
    log.warn({ runbook: name, files: matches.map((match) => match.file) }, 'runbook name defined in more than one file');
    throw new ApiError(409, 'conflict', `runbook ${name} is defined in ${matches.length} files in the server's runbooks folder; an operator must keep one`);
  }
  return entry;
}

/** Runs: list, state, audit trail, and starting a runbook from the server's own folder. */
export function runRoutes(deps: ServerDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/api/runs', {
      schema: {
        tags: ['runs'], summary: 'Recent runs, newest first', querystring: RunListQuery,
        response: { 200: RunListShape, ...errorResponses(400, 401) },
      },
    }, async (request) => ({ runs: (await listRuns(deps.store, request.query)).map((run) => ({ ...run })) }));

    app.get('/api/runs/:id', {
      schema: {
        tags: ['runs'], summary: "A run's state: each step's status, timings, result and who acted", params: RunParams,
        response: { 200: RunStateShape, ...errorResponses(401, 404) },
      },
    }, async (request) => openState(await getRunState(deps.client, deps.store, request.params.id)));

    app.get('/api/runs/:id/timeline', {
      schema: {
        tags: ['runs'], summary: "A run's audit trail: every transition and decision, who and when", params: RunParams,
        response: { 200: TimelineShape, ...errorResponses(401, 404) },
      },
    }, async (request) => {
      const events = await deps.store.events(request.params.id);
      if (events.length === 0) throw unknownRun(request.params.id);
      return { runId: request.params.id, events: events.map((event) => ({ ...event })) };
    });

    app.post('/api/runs', {
      schema: {
        tags: ['runs'],
        summary: "Start a run of a runbook from the server's runbooks folder, requested by the token's user",
        body: StartRunBody,
        response: { 201: StartedRun, ...errorResponses(400, 401, 404, 409, 413, 415) },
      },
    }, async (request, reply) => {
      const { runbook: name, comment } = request.body;
      const entry = await serverRunbook(deps.runbooksDir, name, request.log);
      const user = principalOf(request).user;
      const runId = await startRunbookRun(deps.client, { runbook: entry.runbook, requestedBy: user, channel: 'api', taskQueue: deps.taskQueue, source: name, comment, slackChannel: deps.slack?.channel });
      request.log.info({ runId, runbook: name, file: entry.file, user }, 'run started through the API');
      return reply.code(201).send({ runId });
    });
  };
}
