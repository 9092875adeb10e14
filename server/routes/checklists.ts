import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { findChecklist, listChecklistRuns, readChecklistRun, startChecklist } from '../../runtime/checklists.ts';
import type { ChecklistRecord } from '../../workflows/definitions.ts';
import { ChecklistListShape, ChecklistRecordShape, StartedRun, strictBody } from '../api-schemas.ts';
import { principalOf } from '../auth.ts';
import type { ServerDeps } from '../deps.ts';
import { errorResponses } from '../errors.ts';

const ChecklistListQuery = z.object({
  service: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const StartChecklistBody = strictBody({
  checklist: z.string().min(1).max(200).describe("metadata.name of a checklist in the server's checklists folder"),
  service: z.string().min(1).max(200).optional().describe('the service going live; required unless the checklist names one'),
  signOffTimeout: z.string().min(1).max(50).optional().describe('how long sign-offs may take, like 48h or 7d (default 7d); open items then fail'),
  comment: z.string().max(2_000).optional().describe('why; kept in the audit trail'),
});

/** The record as a plain object type, so it meets the loose response shape (interfaces carry no index signature). */
const openRecord = (record: ChecklistRecord) => ({
  ...record,
  summary: { ...record.summary },
  items: record.items.map(({ signedOff, rejected, waiver, ...item }) => ({
    ...item, signedOff: signedOff && { ...signedOff }, rejected: rejected && { ...rejected }, waiver: waiver && { ...waiver },
  })),
});

/**
 * Checklist runs, the go-live gate: started as the token's user for a checklist of the server's own.
 * Items are signed off, rejected, waived or the run aborted through /api/runs/{id}/approve|reject|waive|abort
 * with `step` = the item.
 */
export function checklistRoutes(deps: ServerDeps): FastifyPluginAsyncZod {
  const folder = deps.checklistsDir ?? 'checklists';
  return async (app) => {
    app.post('/api/checklists/runs', {
      schema: {
        tags: ['checklists'],
        summary: "Run a checklist of the server's folder for a service, requested by the token's user; sign-offs through /api/runs/{id}/approve with step",
        body: StartChecklistBody,
        response: { 201: StartedRun, ...errorResponses(400, 401, 404, 413, 415) },
      },
    }, async (request, reply) => {
      const { checklist: name, service, signOffTimeout, comment } = request.body;
      const { checklist, file } = await findChecklist(folder, name, request.log, "the server's checklists folder");
      const user = principalOf(request).user;
      const runId = await startChecklist(deps.client, {
        checklist, service, requestedBy: user, channel: 'api', taskQueue: deps.taskQueue, source: name, signOffTimeout, comment, slackChannel: deps.slack?.channel,
      });
      request.log.info({ runId, checklist: name, file, service, user }, 'checklist run started through the API');
      return reply.code(201).send({ runId });
    });

    app.get('/api/checklists/runs', {
      schema: {
        tags: ['checklists'], summary: 'Recorded checklist runs, newest first', querystring: ChecklistListQuery,
        response: { 200: ChecklistListShape, ...errorResponses(400, 401) },
      },
    }, async (request) => ({ runs: (await listChecklistRuns(deps.pool, request.query)).map(openRecord) }));

    app.get('/api/checklists/runs/:id', {
      schema: {
        tags: ['checklists'],
        summary: "One checklist run's record: the gate's verdict, each item with its evidence or reason, who signed off or waived it",
        params: z.object({ id: z.string().min(1).describe('run id') }),
        response: { 200: ChecklistRecordShape, ...errorResponses(401, 404) },
      },
    }, async (request) => openRecord(await readChecklistRun(deps.pool, request.params.id)));
  };
}
