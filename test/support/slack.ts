import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export interface SlackRequest {
  path: string;
  authorization?: string;
  contentType?: string;
  body: unknown;
  at: number;
}

/** An answer other than success, for a channel and the number of tries so far. */
export type SlackMisbehaviour = (channel: unknown, tries: number) => { status: number; body: unknown; headers?: Record<string, string> } | undefined;

export interface SlackApi {
  /** What to set as SLACK_API_URL. */
  apiUrl: string;
  /** Every request, in order; empty it with `received.length = 0`. */
  received: SlackRequest[];
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of request) text += String(chunk);
  return JSON.parse(text);
}

function answer(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
}

/** A local stand-in for slack.com/api that speaks the Web API wire format for chat.postMessage. */
export async function startSlackApi(token: string, misbehave: SlackMisbehaviour = () => undefined): Promise<SlackApi> {
  const received: SlackRequest[] = [];
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const body = await readBody(request);
    received.push({ path: request.url ?? '', authorization: request.headers.authorization, contentType: request.headers['content-type'], body, at: Date.now() });
    const channel = typeof body === 'object' && body !== null && 'channel' in body ? body.channel : undefined;
    const tries = received.filter((entry) => entry.path === request.url).length;
    if (request.url !== '/api/chat.postMessage') return answer(response, 404, { ok: false, error: 'unknown_method' });
    if (request.headers.authorization !== `Bearer ${token}`) return answer(response, 200, { ok: false, error: 'invalid_auth' });
    const other = misbehave(channel, tries);
    if (other) return answer(response, other.status, other.body, other.headers);
    answer(response, 200, { ok: true, channel, ts: `1718000000.00010${tries}` });
  };
  const server = createServer((request, response) => void handle(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the Slack stand-in has no TCP address');
  return {
    apiUrl: `http://127.0.0.1:${address.port}/api/`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
