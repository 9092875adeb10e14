import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChecklistRecordShape, RunStateShape } from '../../server/api-schemas.ts';
import type { ChecklistRecord } from '../../workflows/definitions.ts';
import { callApi } from '../support/api.ts';
import { itemOf, startChecklistStack, type ChecklistStack } from '../support/checklist.ts';
import { settledEvents } from '../support/engine.ts';
import { until } from '../support/poll.ts';

/**
 * Checklist runs through golive's HTTP API: started as the token's user from the server's
 * checklists folder, decided through the run controls with `step` = the item, read as records.
 * Roles: rita and rose release managers, adam approver.
 */
let stack: ChecklistStack;
const Record = z.custom<ChecklistRecord>((value) => ChecklistRecordShape.safeParse(value).success);

const as = (user: 'rita' | 'rose' | 'adam') => ({ token: stack.tokens[user] });
const get = (path: string) => callApi(stack.server.url, path, as('rita'));
const post = (user: 'rita' | 'rose' | 'adam', path: string, body: unknown) => callApi(stack.server.url, path, { ...as(user), method: 'POST', body });

/** The run's record from the API once `ready` holds. */
function recordWhen(runId: string, ready: (record: ChecklistRecord) => boolean): Promise<ChecklistRecord> {
  return until(async () => {
    const reply = await get(`/api/checklists/runs/${runId}`);
    const record = reply.status === 200 ? Record.parse(reply.body) : undefined;
    return record && ready(record) ? record : undefined;
  }, 30_000, `checklist run ${runId} never reached the expected record`, 100);
}

beforeAll(async () => {
  stack = await startChecklistStack('checklist_api');
});

afterAll(() => stack?.close());

describe('POST /api/checklists/runs', () => {
  it('runs the named checklist for a service as the token\'s user; items are decided through /api/runs/{id}/approve|waive with step', async () => {
    const started = await post('rita', '/api/checklists/runs', { checklist: 'launch', service: 'orders', signOffTimeout: '1h', comment: 'spring launch' });
    expect([started.status, Object.keys(started.body)]).toEqual([201, ['runId']]);
    const runId = String(started.body.runId);
    expect(runId).toMatch(/^orders-launch-\d{8}-\d{4}-[0-9a-f]{4}$/);

    const open = await recordWhen(runId, (record) => itemOf(record, 'status-page').status === 'failed');
    expect(open).toMatchObject({ checklist: 'launch', service: 'orders', requestedBy: 'rita', status: 'running' });
    expect(Date.parse(open.deadline) - Date.parse(open.startedAt)).toBe(3_600_000);
    const state = await get(`/api/runs/${runId}`);
    expect(RunStateShape.parse(state.body).steps.map((step) => [step.id, step.kind])).toEqual([['site-up', 'action'], ['status-page', 'action'], ['war-room', 'approval'], ['faq', 'approval']]);

    const noReason = await post('rose', `/api/runs/${runId}/waive`, { step: 'status-page' });
    expect([noReason.status, noReason.error?.message]).toEqual([400, expect.stringMatching(/^a waiver needs a reason: say why item status-page may go live as it is/)]);
    const byRequester = await post('rita', `/api/runs/${runId}/waive`, { step: 'status-page', comment: 'the page moves next week' });
    expect([byRequester.status, byRequester.error?.message]).toEqual([403, `rita requested checklist run ${runId} and cannot waive its item status-page: a different release manager must waive it`]);
    const waived = await post('rose', `/api/runs/${runId}/waive`, { step: 'status-page', comment: 'the page moves next week' });
    expect([waived.status, waived.body.message]).toEqual([200, `waived item status-page of checklist run ${runId}: the page moves next week`]);

    const bySelf = await post('rita', `/api/runs/${runId}/approve`, { step: 'war-room' });
    expect([bySelf.status, bySelf.error?.message]).toEqual([403, expect.stringMatching(/^four-eyes: rita requested checklist run/)]);
    expect((await post('rose', `/api/runs/${runId}/approve`, { step: 'war-room', comment: 'bridge booked' })).status).toBe(200);
    expect((await post('adam', `/api/runs/${runId}/approve`, { step: 'faq' })).status).toBe(200);

    const passed = await recordWhen(runId, (record) => record.status !== 'running');
    expect(passed).toMatchObject({ status: 'passed', summary: { total: 4, required: 3, passed: 3, failed: 0, waived: 1, open: 0 } });
    expect(itemOf(passed, 'status-page').waiver).toMatchObject({ actor: 'rose', channel: 'api', comment: 'the page moves next week' });
    expect(itemOf(passed, 'war-room').signedOff).toMatchObject({ actor: 'rose', channel: 'api', comment: 'bridge booked' });
    const events = await settledEvents(stack.harness, runId);
    expect(events.find((event) => event.action === 'run.started')).toMatchObject({ actor: 'rita', channel: 'api', detail: { source: 'launch', comment: 'spring launch' } });
    expect(events.find((event) => event.action === 'item.waived')).toMatchObject({ actor: 'rose', channel: 'api', stepId: 'status-page' });

    const late = await post('rose', `/api/runs/${runId}/waive`, { step: 'war-room', comment: 'late' });
    expect(late.status).toBe(409);
    const listed = await get('/api/checklists/runs?service=orders');
    expect(z.object({ runs: z.array(Record) }).parse(listed.body).runs.map((record) => record.runId)).toContain(runId);
  });

  it('refuses a checklist the server does not have, a missing service, a timeout that is not a duration, and an actor field', async () => {
    const unknown = await post('rita', '/api/checklists/runs', { checklist: 'no-such', service: 'orders' });
    expect([unknown.status, unknown.error?.message]).toEqual([404, "no checklist named no-such in the server's checklists folder (known: launch)"]);
    const noService = await post('rita', '/api/checklists/runs', { checklist: 'launch' });
    expect([noService.status, noService.error?.message]).toEqual([400, 'checklist launch names no service: say which service goes live (--service NAME, or service in the API)']);
    const badTimeout = await post('rita', '/api/checklists/runs', { checklist: 'launch', service: 'orders', signOffTimeout: 'soon' });
    expect([badTimeout.status, badTimeout.error?.message]).toEqual([400, expect.stringMatching(/^sign-off timeout: give a duration like/)]);
    const actor = await post('rita', '/api/checklists/runs', { checklist: 'launch', service: 'orders', actor: 'rose' });
    expect([actor.status, actor.error?.message]).toEqual([400, expect.stringContaining('unknown field "actor"')]);
  });
});

describe('GET /api/checklists/runs', () => {
  it('answers 404 for a run it has no checklist run of, and is in the OpenAPI document', async () => {
    const unknown = await get('/api/checklists/runs/no-such-run');
    expect([unknown.status, unknown.error]).toEqual([404, { code: 'not_found', message: 'no checklist run no-such-run: list them with `golive checklist list`' }]);
    const paths = z.object({ paths: z.record(z.string(), z.record(z.string(), z.unknown())) }).parse((await callApi(stack.server.url, '/api/openapi.json')).body).paths;
    expect(Object.keys(paths['/api/checklists/runs'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(Object.keys(paths['/api/checklists/runs/{id}'] ?? {})).toEqual(['get']);
    expect(Object.keys(paths['/api/runs/{id}/waive'] ?? {})).toEqual(['post']);
  });
});
