import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createActionActivities } from '../../activities/catalog.ts';
import { parseRoles } from '../../definitions/roles.ts';
import { ChecklistSchema, type Checklist } from '../../definitions/schema.ts';
import { createRoleDirectory } from '../../runtime/roles.ts';
import { sendControl } from '../../runtime/runs.ts';
import { startHttpServer as startGolive, type HttpServer } from '../../server/http.ts';
import { createPgIdentityStore } from '../../store/identity.ts';
import { createPgProtectionStore } from '../../store/protection.ts';
import { getChecklistRun } from '../../store/run-records.ts';
import {
  CHECKLIST_WORKFLOW, type ChecklistRecord, type ChecklistRunInput, type ControlName, type ControlRequest,
} from '../../workflows/definitions.ts';
import { startHttpServer, type LocalServer } from './backends.ts';
import { uniqueId } from './db.ts';
import { createEngineHarness, type EngineHarness } from './engine.ts';
import { until } from './poll.ts';

/**
 * Checklist runs against a real worker: roles as the worker's configuration holds them, a small
 * HTTP site the automatic items check, and helpers that read the record golive's Postgres holds.
 * rita and rose are release managers, adam an approver, ivan an incident commander.
 */
export const CHECKLIST_ROLES = createRoleDirectory(parseRoles('rita=release-manager,rose=release-manager,adam=approver,ivan=incident-commander'));

export interface ChecklistSite extends LocalServer {
  /** The most requests to /slow the site has held at once. */
  mostAtOnce(): number;
}

/** A site for automatic items: /healthz answers 200 `ok`, /slow 200 after 300 ms, /down 503, anything else 404. */
export async function startChecklistSite(): Promise<ChecklistSite> {
  let inFlight = 0;
  let most = 0;
  const server = await startHttpServer((request, response) => {
    const answer = (status: number) => {
      response.writeHead(status, { 'content-type': 'text/plain' });
      response.end(status === 200 ? 'ok' : 'no');
    };
    if (request.url !== '/slow') return answer(request.url === '/healthz' ? 200 : request.url === '/down' ? 503 : 404);
    inFlight += 1;
    most = Math.max(most, inFlight);
    setTimeout(() => {
      inFlight -= 1;
      answer(200);
    }, 300);
  });
  return { ...server, mostAtOnce: () => most };
}

type ItemInput = Record<string, unknown> & { id: string };

/** An automatic item that requests `path` on the site once (no retries, so a failure is quick). */
export function httpItem(id: string, path: string, extra: Record<string, unknown> = {}): ItemInput {
  const { assert, required } = extra;
  return {
    id, title: `${path} answers`, owner: 'sre', verification: 'automatic', ...(required === undefined ? {} : { required }),
    check: { id: `${id}-probe`, action: 'http.check', target: 'site', with: { path }, retries: 0, ...(assert === undefined ? {} : { assert }) },
  };
}

export function signOffItem(id: string, approvers: string[], extra: Record<string, unknown> = {}): ItemInput {
  return { id, title: `${id} done`, owner: 'release-manager', verification: 'sign-off', approvers, ...extra };
}

/** A checklist whose items are all in the technical phase, or in the phases given. */
export function checklistOf(name: string, phases: ItemInput[] | Record<string, ItemInput[]>, siteUrl = 'http://127.0.0.1:9'): Checklist {
  const byPhase = Array.isArray(phases) ? { technical: phases } : phases;
  return ChecklistSchema.parse({
    apiVersion: 'golive/v1',
    kind: 'Checklist',
    metadata: { name },
    spec: {
      targets: { site: { type: 'http', url: siteUrl } },
      phases: Object.entries(byPhase).map(([id, items]) => ({ id, title: `${id} readiness`, items })),
    },
  });
}

/** Starts a checklist run requested by `requestedBy` (rita unless said) for service orders. */
export async function startChecklistRun(harness: EngineHarness, checklist: Checklist, input: Partial<ChecklistRunInput> = {}) {
  const runId = uniqueId(`orders-${checklist.metadata.name}`);
  const handle = await harness.client.workflow.start<(input: ChecklistRunInput) => Promise<ChecklistRecord>>(CHECKLIST_WORKFLOW, {
    workflowId: runId,
    taskQueue: harness.taskQueue,
    args: [{ checklist, service: 'orders', requestedBy: 'rita', channel: 'cli', ...input } satisfies ChecklistRunInput],
  });
  return { runId, handle };
}

/** The record golive's Postgres holds once `ready` holds for it. */
export function storedRecord(harness: EngineHarness, runId: string, ready: (record: ChecklistRecord) => boolean, timeoutMs = 30_000): Promise<ChecklistRecord> {
  return until(async () => {
    const record = await getChecklistRun(harness.pool, runId);
    return record && ready(record) ? record : undefined;
  }, timeoutMs, `checklist run ${runId} never reached the expected record`, 100);
}

/** One item of a record. */
export function itemOf(record: ChecklistRecord, id: string) {
  const item = record.items.find((candidate) => candidate.id === id);
  if (!item) throw new Error(`checklist run ${record.runId} has no item ${id}`);
  return item;
}

/** A control as a person sends it from the CLI, through golive's own sendControl: its answer, or the refusal's type and message. */
export async function send(harness: EngineHarness, runId: string, control: ControlName, request: Partial<ControlRequest> & { actor: string }): Promise<string | { refused: string; message: string }> {
  try {
    return await sendControl({ client: harness.client, store: harness.store, taskQueue: harness.taskQueue }, runId, control, { channel: 'cli', ...request });
  } catch (error) {
    if (error instanceof Error) return { refused: error.name, message: error.message };
    throw error;
  }
}

/** The server's checklist `launch`: two automatic items (one fails: /down), a required sign-off and an optional one. */
export function launchChecklistText(siteUrl: string): string {
  return `apiVersion: golive/v1
kind: Checklist
metadata: { name: launch }
spec:
  targets:
    site: { type: http, url: "${siteUrl}" }
  phases:
    - id: technical
      title: Technical readiness
      items:
        - { id: site-up, title: The site answers, owner: sre, verification: automatic, check: { id: site-up, action: http.check, target: site, with: { path: /healthz }, retries: 0 } }
        - { id: status-page, title: The status page is up, owner: sre, verification: automatic, check: { id: status-page, action: http.check, target: site, with: { path: /down }, retries: 0 } }
    - id: process
      title: Process readiness
      items:
        - { id: war-room, title: A war room is set up, owner: release-manager, verification: sign-off, approvers: [release-manager] }
        - { id: faq, title: An FAQ is ready, owner: support, verification: sign-off, approvers: [approver], required: false }
`;
}

/** A worker, the site, a checklists folder holding `launch`, and golive's HTTP server with a token per person. */
export interface ChecklistStack {
  harness: EngineHarness;
  site: ChecklistSite;
  folder: string;
  server: HttpServer;
  tokens: Record<'rita' | 'rose' | 'adam', string>;
  close(): Promise<void>;
}

export async function startChecklistStack(prefix: string): Promise<ChecklistStack> {
  const harness = await createEngineHarness(prefix);
  await harness.startWorker(createActionActivities({ env: {}, pgBin: '' }), { roles: CHECKLIST_ROLES });
  const site = await startChecklistSite();
  const folder = await mkdtemp(join(tmpdir(), `golive-${prefix}-`));
  await writeFile(join(folder, 'launch.yaml'), launchChecklistText(site.url));
  const identity = createPgIdentityStore(harness.pool);
  const token = async (user: string) => (await identity.createToken({ user }, { name: 'test-setup', channel: 'cli' })).token;
  const tokens = { rita: await token('rita'), rose: await token('rose'), adam: await token('adam') };
  const server = await startGolive({
    store: harness.store, protection: createPgProtectionStore(harness.pool), identity, roles: CHECKLIST_ROLES, runbooksDir: folder, checklistsDir: folder,
    client: harness.client, pool: harness.pool, taskQueue: harness.taskQueue,
  }, { host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }) });
  return {
    harness, site, folder, server, tokens,
    async close() {
      await server.close();
      await harness.close();
      await site.close();
      await rm(folder, { recursive: true, force: true });
    },
  };
}
