import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/**
 * A local stand-in for slack.com/api speaking the Web API's wire format: JSON or form-encoded
 * bodies (form fields holding JSON, like `blocks`, are parsed), a bearer token, `{ok, error}`
 * answers. It keeps every message posted per channel, with threads and metadata, so a test reads
 * the channel as a person would; and it serves the response_url Slack gives every command and click.
 */

export interface SlackRequest {
  path: string;
  /** The Web API method (`chat.postMessage`), or `response_url` for a post to a response URL. */
  method: string;
  authorization?: string;
  contentType?: string;
  body: Record<string, unknown>;
  at: number;
}

export interface SlackMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks?: unknown[];
  thread_ts?: string;
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  /** Every update of the message, oldest first (the message fields above are the latest). */
  edits: number;
}

/** An answer other than success, for a channel and the number of calls of that method so far. */
export type SlackMisbehaviour = (channel: unknown, tries: number, method: string) => { status: number; body: unknown; headers?: Record<string, string> } | undefined;

export interface SlackApiOptions {
  misbehave?: SlackMisbehaviour;
  /** User group ID → member user IDs, for usergroups.users.list. */
  groups?: Record<string, string[]>;
  /**
   * Called after a chat.postMessage is stored and before it is answered; `drop` destroys the
   * connection instead of answering (the post landed, the caller never learns its ts).
   */
  afterPost?: (message: SlackMessage) => Promise<'answer' | 'drop'> | 'answer' | 'drop';
  /** The WebSocket URL apps.connections.open hands an app-level token (xapp-…): where Socket Mode connects. */
  socketModeUrl?: string;
  /** Timestamps from the clock, as Slack's are (default: a fixed 1718000000.000NNN), so `oldest` filters as it does in Slack. */
  clockTimestamps?: boolean;
}

export interface SlackApi {
  /** What to set as SLACK_API_URL. */
  apiUrl: string;
  /** Every request, in order; empty it with `received.length = 0`. */
  received: SlackRequest[];
  /** The requests of one method (`chat.update`, `views.open`, `response_url`...). */
  calls(method: string): Array<Record<string, unknown>>;
  /** A response_url for a slash command or a click; posts to it are recorded as method `response_url` with `path` ending in `id`. */
  responseUrl(id: string): string;
  /** Top-level messages of a channel, oldest first. */
  messages(channel: string): SlackMessage[];
  /** The replies in a message's thread, oldest first. */
  replies(channel: string, ts: string): SlackMessage[];
  close(): Promise<void>;
}

const BOT = { user_id: 'UGOLIVEBOT', bot_id: 'BGOLIVEBOT', team_id: 'TGOLIVE', team: 'golive-test', user: 'golive' };

async function readBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of request) text += String(chunk);
  if (text === '') return {};
  if ((request.headers['content-type'] ?? '').includes('application/json')) return JSON.parse(text) as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    fields[key] = /^[[{]/.test(value) ? JSON.parse(value) : value;
  }
  return fields;
}

function answer(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
}

const asString = (value: unknown) => (typeof value === 'string' ? value : value === undefined ? undefined : String(value));

/** Starts the stand-in; `token` is the only bot token it accepts. */
export async function startSlackApi(token: string, options: SlackApiOptions | SlackMisbehaviour = {}): Promise<SlackApi> {
  const { misbehave = () => undefined, groups = {}, afterPost, clockTimestamps = false, socketModeUrl } = typeof options === 'function' ? { misbehave: options } : options;
  const received: SlackRequest[] = [];
  const stored: SlackMessage[] = [];
  let posts = 0;

  const find = (channel: unknown, ts: unknown) => stored.find((message) => message.channel === channel && message.ts === ts);

  async function methodAnswer(method: string, body: Record<string, unknown>, response: ServerResponse, tries: number): Promise<unknown> {
    const channel = asString(body.channel);
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://golive-test.slack.com/', ...BOT };
      case 'chat.postMessage': {
        if (channel === undefined) return { ok: false, error: 'channel_not_found' };
        const message: SlackMessage = {
          channel, ts: clockTimestamps ? `${Math.floor(Date.now() / 1_000)}.${String((posts += 1)).padStart(6, '0')}` : `1718000000.${String(100 + tries).padStart(6, '0')}`,
          text: asString(body.text), blocks: body.blocks as unknown[] | undefined,
          thread_ts: asString(body.thread_ts), metadata: body.metadata as SlackMessage['metadata'], edits: 0,
        };
        stored.push(message);
        if (afterPost && (await afterPost(message)) === 'drop') {
          response.destroy();
          return undefined;
        }
        return { ok: true, channel, ts: message.ts, message: { ...message, edits: undefined } };
      }
      case 'chat.update': {
        const message = find(channel, body.ts);
        if (!message) return { ok: false, error: 'message_not_found' };
        Object.assign(message, { text: asString(body.text) ?? message.text, blocks: (body.blocks as unknown[] | undefined) ?? message.blocks, edits: message.edits + 1 });
        if (body.metadata !== undefined) message.metadata = body.metadata as SlackMessage['metadata'];
        return { ok: true, channel, ts: message.ts, text: message.text };
      }
      case 'chat.delete': {
        const message = find(channel, body.ts);
        if (!message) return { ok: false, error: 'message_not_found' };
        stored.splice(stored.indexOf(message), 1);
        return { ok: true, channel, ts: message.ts };
      }
      case 'chat.postEphemeral':
        return { ok: true, message_ts: `1718000001.${String(received.length).padStart(6, '0')}` };
      case 'conversations.history': {
        const withMetadata = body.include_all_metadata === true || body.include_all_metadata === 'true';
        const oldest = Number(body.oldest ?? 0);
        const limit = Number(body.limit ?? 100);
        const top = stored.filter((message) => message.channel === channel && message.thread_ts === undefined && Number(message.ts) >= oldest).reverse();
        const start = Number(body.cursor ?? 0);
        const page = top.slice(start, start + limit).map(({ ts, text, blocks, metadata }) => ({ type: 'message', ts, text, blocks, ...(withMetadata && metadata ? { metadata } : {}) }));
        const more = start + limit < top.length;
        return { ok: true, messages: page, has_more: more, response_metadata: { next_cursor: more ? String(start + limit) : '' } };
      }
      case 'conversations.replies': {
        const parent = find(channel, body.ts);
        if (!parent) return { ok: false, error: 'thread_not_found' };
        return { ok: true, messages: [parent, ...stored.filter((message) => message.channel === channel && message.thread_ts === parent.ts)] };
      }
      case 'views.open':
        return { ok: true, view: { id: `V${received.length}`, ...(body.view as Record<string, unknown>) } };
      case 'usergroups.users.list': {
        const users = groups[asString(body.usergroup) ?? ''];
        return users ? { ok: true, users } : { ok: false, error: 'no_such_subteam' };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '').split('?')[0] ?? '';
    const query = Object.fromEntries(new URL(request.url ?? '/', 'http://slack').searchParams);
    const body = { ...query, ...(await readBody(request)) };
    const method = path.startsWith('/respond/') ? 'response_url' : path.replace(/^\/api\//, '');
    received.push({ path, method, authorization: request.headers.authorization, contentType: request.headers['content-type'], body, at: Date.now() });
    if (method === 'response_url') return answer(response, 200, { ok: true });
    if (method === 'apps.connections.open') {
      const allowed = socketModeUrl !== undefined && /^Bearer xapp-/.test(request.headers.authorization ?? '');
      return answer(response, 200, allowed ? { ok: true, url: socketModeUrl } : { ok: false, error: 'invalid_auth' });
    }
    if (request.headers.authorization !== `Bearer ${token}` && body.token !== token) return answer(response, 200, { ok: false, error: 'invalid_auth' });
    const tries = received.filter((entry) => entry.path === path).length;
    const other = misbehave(body.channel, tries, method);
    if (other) return answer(response, other.status, other.body, other.headers);
    const result = await methodAnswer(method, body, response, tries);
    if (result !== undefined) answer(response, 200, result);
  };
  const server = createServer((request, response) => void handle(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the Slack stand-in has no TCP address');
  const base = `http://127.0.0.1:${address.port}`;
  return {
    apiUrl: `${base}/api/`,
    received,
    calls: (method) => received.filter((entry) => entry.method === method).map((entry) => entry.body),
    responseUrl: (id) => `${base}/respond/${id}`,
    messages: (channel) => stored.filter((message) => message.channel === channel && message.thread_ts === undefined),
    replies: (channel, ts) => stored.filter((message) => message.channel === channel && message.thread_ts === ts),
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
