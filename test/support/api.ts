import { z } from 'zod';
import { ErrorBody, RunStateShape } from '../../server/api-schemas.ts';
import type { RunState } from '../../workflows/definitions.ts';

export interface ApiReply {
  status: number;
  /** The WWW-Authenticate header. */
  challenge: string | null;
  contentType: string;
  text: string;
  /** The JSON object answered, or {} when the body is not one. */
  body: Record<string, unknown>;
  /** The `error` of a 4xx/5xx answer in golive's error shape. */
  error?: { code: string; message: string };
}

const JsonObject = z.record(z.string(), z.unknown());

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** One request to golive's API, as a client sends it: a bearer token (or a raw Authorization header) and a JSON body. */
export async function callApi(baseUrl: string, path: string, options: { token?: string; authorization?: string; method?: string; body?: unknown } = {}): Promise<ApiReply> {
  const headers: Record<string, string> = {};
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  else if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}${path}`, { method: options.method ?? 'GET', headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await response.text();
  const json = parsed(text);
  return {
    status: response.status,
    challenge: response.headers.get('www-authenticate'),
    contentType: response.headers.get('content-type') ?? '',
    text,
    body: JsonObject.safeParse(json).data ?? {},
    error: ErrorBody.safeParse(json).data?.error,
  };
}

/** A run state from the API, checked for the fields tests read. */
export const RunStateAnswer = z.custom<RunState>((value) => RunStateShape.safeParse(value).success);

/** A runbook for the server's folder: noop steps, a gate for incident commanders, then a pause until someone resumes. */
export function serverRunbook(name: string): string {
  return `apiVersion: golive/v1
kind: Runbook
metadata: { name: ${name}, service: orders }
spec:
  strategy: warm-standby
  objectives: { rpo: 5m, rto: 30m }
  steps:
    - { id: check, action: noop }
    - { id: approve-failover, approval: { approvers: [incident-commander], timeout: 1h } }
    - { id: hold, pause: {} }
    - { id: promote, action: noop }
`;
}
