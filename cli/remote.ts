import { stat } from 'node:fs/promises';
import { z } from 'zod';
import { loadConfig } from '../config/env.ts';
import type { PostureReport } from '../runtime/posture.ts';
import { ControlConflict, ControlForbidden, NotFoundError, StackUnavailable, UserError } from '../runtime/errors.ts';
import {
  AuditEventShape, ChecklistListShape, ChecklistRecordShape, ControlAnswer, DrillRecordShape, ErrorBody, FailoverRecordShape, PostureShape, RolloutRecordShape, RunStateShape, RunSummaryShape, StartedRun,
} from '../server/api-schemas.ts';
import type { FailoverFilter } from '../store/failovers.ts';
import type { RunFilter, RunSummary } from '../store/runs.ts';
import type { AuditEvent, ChecklistRecord, ControlName, DrillRecord, FailoverRecord, RolloutRecord, RunState } from '../workflows/definitions.ts';
import { reportStarted } from './follow.ts';

/**
 * The CLI's client of golive's HTTP API, used for every command the API serves when GOLIVE_URL
 * and GOLIVE_TOKEN are set. Answers are checked against the API's shapes before they are used.
 */
export interface RemoteApi {
  url: string;
  /** Any route, its answer checked against `answer`: for command modules that keep their own routes' client (cli/flags.ts). */
  request<T>(method: HttpMethod, path: string, answer: z.ZodType<T>, body?: unknown): Promise<T>;
  listRuns(filter: RunFilter): Promise<RunSummary[]>;
  runState(runId: string): Promise<RunState>;
  timeline(runId: string): Promise<AuditEvent[]>;
  startRun(runbook: string, comment?: string): Promise<string>;
  control(runId: string, control: ControlName, request: { comment?: string; step?: string }): Promise<z.infer<typeof ControlAnswer>>;
  drills(filter: { service?: string; limit?: number }): Promise<DrillRecord[]>;
  posture(): Promise<PostureReport>;
  startFailover(request: { runbook: string; reason: string; force?: string; environment?: string }): Promise<string>;
  failover(runId: string): Promise<FailoverRecord>;
  failovers(filter: Partial<FailoverFilter>): Promise<FailoverRecord[]>;
  startRollout(request: RolloutStartRequest): Promise<string>;
  rollout(runId: string): Promise<RolloutRecord>;
  rollouts(filter: { service?: string; limit?: number }): Promise<RolloutRecord[]>;
  startChecklist(request: { checklist: string; service?: string; signOffTimeout?: string; comment?: string }): Promise<string>;
  checklistRun(runId: string): Promise<ChecklistRecord>;
  checklistRuns(filter: { service?: string; limit?: number }): Promise<ChecklistRecord[]>;
}

/** POST /api/rollouts: a plan of the server's by name, or the fields of an ad-hoc rollout. */
export interface RolloutStartRequest {
  plan?: string;
  flag?: string;
  service?: string;
  phases?: number[];
  bake?: string;
  environment?: string;
  provider?: 'builtin' | 'unleash';
  approvals?: boolean;
  checklist?: string;
  comment?: string;
}

/** golive's own records, checked for the fields the CLI reads; the server sends the rest unchanged. */
const checked = <T>(shape: z.ZodType) => z.custom<T>((value) => shape.safeParse(value).success);
const RunList = z.object({ runs: z.array(checked<RunSummary>(RunSummaryShape)) });
const State = checked<RunState>(RunStateShape);
const Timeline = z.object({ runId: z.string(), events: z.array(checked<AuditEvent>(AuditEventShape)) });
const DrillList = z.object({ drills: z.array(checked<DrillRecord>(DrillRecordShape)) });
const Posture = checked<PostureReport>(PostureShape);
const Failover = checked<FailoverRecord>(FailoverRecordShape);
const FailoverList = z.object({ failovers: z.array(Failover) });
const Rollout = checked<RolloutRecord>(RolloutRecordShape);
const RolloutList = z.object({ rollouts: z.array(Rollout) });
const ChecklistRun = checked<ChecklistRecord>(ChecklistRecordShape);
const ChecklistRunList = checked<{ runs: ChecklistRecord[] }>(ChecklistListShape);

const REQUEST_TIMEOUT_MS = 30_000;
type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** The API client when GOLIVE_URL and GOLIVE_TOKEN are set; else the CLI talks to Temporal and Postgres itself. */
export function remoteApi(): RemoteApi | undefined {
  const remote = loadConfig().remote;
  return remote && createRemoteApi(remote.url, remote.token);
}

/** With GOLIVE_URL the token names the user: an --as would be a second, unverified claim. */
export function refuseAs(as: string | undefined): void {
  if (as !== undefined) throw new UserError('--as does not apply with GOLIVE_URL: the token says who you are (GOLIVE_TOKEN); unset GOLIVE_URL to act on the stack directly');
}

export function createRemoteApi(url: string, token: string): RemoteApi {
  async function call<T>(method: HttpMethod, path: string, answer: z.ZodType<T>, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
      throw new StackUnavailable(`cannot reach golive at ${url} (GOLIVE_URL): ${cause}`);
    }
    const text = await response.text();
    const json = parse(text);
    if (!response.ok) {
      const refusal = ErrorBody.safeParse(json);
      throw refused(response.status, refusal.success ? refusal.data.error.message : `golive at ${url} answered ${method} ${path} with ${response.status} ${response.statusText}`);
    }
    const parsed = answer.safeParse(json);
    if (!parsed.success) throw new Error(`golive at ${url} answered ${method} ${path} with a body this CLI does not understand; are both the same version?`);
    return parsed.data;
  }
  const query = (values: Record<string, string | number | undefined>) => {
    const defined = Object.entries(values).filter((entry): entry is [string, string | number] => entry[1] !== undefined);
    return defined.length === 0 ? '' : `?${new URLSearchParams(defined.map(([key, value]): [string, string] => [key, String(value)]))}`;
  };
  const runPath = (runId: string) => `/api/runs/${encodeURIComponent(runId)}`;

  return {
    url,
    request: call,
    listRuns: async (filter) => (await call('GET', `/api/runs${query({ service: filter.service, status: filter.status, limit: filter.limit })}`, RunList)).runs,
    runState: (runId) => call('GET', runPath(runId), State),
    timeline: async (runId) => (await call('GET', `${runPath(runId)}/timeline`, Timeline)).events,
    startRun: async (runbook, comment) => (await call('POST', '/api/runs', StartedRun, { runbook, comment })).runId,
    control: (runId, control, request) => call('POST', `${runPath(runId)}/${control}`, ControlAnswer, request),
    drills: async (filter) => (await call('GET', `/api/drills${query(filter)}`, DrillList)).drills,
    posture: () => call('GET', '/api/posture', Posture),
    startFailover: async (request) => (await call('POST', '/api/failovers', StartedRun, request)).runId,
    failover: (runId) => call('GET', `/api/failovers/${encodeURIComponent(runId)}`, Failover),
    failovers: async ({ service, drill, limit }) => (await call('GET', `/api/failovers${query({ service, drill: drill === undefined ? undefined : String(drill), limit })}`, FailoverList)).failovers,
    startRollout: async (request) => (await call('POST', '/api/rollouts', StartedRun, request)).runId,
    rollout: async (runId) => (await call('GET', `/api/rollouts/${encodeURIComponent(runId)}`, z.looseObject({ record: Rollout }))).record,
    rollouts: async (filter) => (await call('GET', `/api/rollouts${query(filter)}`, RolloutList)).rollouts,
    startChecklist: async (request) => (await call('POST', '/api/checklists/runs', StartedRun, request)).runId,
    checklistRun: (runId) => call('GET', `/api/checklists/runs/${encodeURIComponent(runId)}`, ChecklistRun),
    checklistRuns: async (filter) => (await call('GET', `/api/checklists/runs${query(filter)}`, ChecklistRunList)).runs,
  };
}

/** The API's refusal as the failure the CLI would have raised itself, so exit codes and --json errors agree. */
function refused(status: number, message: string): Error {
  if (status === 404) return new NotFoundError(message);
  if (status === 403) return new ControlForbidden(message);
  if (status === 409) return new ControlConflict(message);
  if (status === 503 || status === 502 || status === 504) return new StackUnavailable(message);
  if (status >= 400 && status < 500) return new UserError(message);
  return new Error(message);
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The runbook's metadata.name: read from the file when the argument is one, else the argument is the name. */
export async function runbookName(fileOrName: string): Promise<string> {
  const isFile = await stat(fileOrName).then((info) => info.isFile(), () => false);
  if (isFile || /\.ya?ml$/i.test(fileOrName)) return (await (await import('../definitions/load.ts')).loadRunbook(fileOrName)).metadata.name;
  return fileOrName;
}

/** `golive run` through the API: the server starts the runbook of that name from its own folder. */
export async function runRemotely(api: RemoteApi, fileOrName: string, options: { as?: string; detach?: boolean; json?: boolean; comment?: string }): Promise<void> {
  refuseAs(options.as);
  const name = await runbookName(fileOrName);
  const runId = await api.startRun(name, options.comment);
  const started = `started run ${runId} on ${api.url}: the server runs its own copy of runbook ${name}, not a local file, as the token's user`;
  await reportStarted(runId, options, started, () => api.runState(runId));
}
