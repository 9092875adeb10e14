import { AuthorizationError, ReceiverMultipleAckError, verifySlackRequest, type App, type Receiver } from '@slack/bolt';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ApiError } from '../server/errors.ts';

/**
 * Slack's HTTP requests, received on golive's own fastify server at POST /slack/events and handed to
 * the Bolt app. The Slack signature is the route's authentication (the bearer-token hook skips it):
 * a request must be signed with the app's signing secret and at most 5 minutes old, else 401 and
 * nothing runs. The HTTP answer is whatever the listener's ack() gave, sent as soon as it acks;
 * the listener goes on after that.
 */

export const SLACK_EVENTS_PATH = '/slack/events';
/** An interaction carries the whole message it came from: allow more than the API's JSON bodies. */
const SLACK_BODY_LIMIT_BYTES = 1024 * 1024;
/** Slack gives up on an answer after 3 s. */
const ACK_TIMEOUT_MS = 3_000;
const MAX_AGE_SECONDS = 5 * 60;

const UNSIGNED = 'not a request from Slack: it must carry a valid x-slack-signature from this app\'s signing secret and an x-slack-request-timestamp within 5 minutes';

type Answer = { status: 200; body: unknown } | { status: 401 | 404 | 500 };

const header = (request: FastifyRequest, name: string) => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** The request body as Bolt reads it: an interaction's `payload` JSON, a slash command's form fields, or an event's JSON. */
function parseBody(raw: string, form: boolean): Record<string, unknown> {
  try {
    if (!form) return JSON.parse(raw) as Record<string, unknown>;
    const fields = Object.fromEntries(new URLSearchParams(raw));
    return typeof fields.payload === 'string' ? (JSON.parse(fields.payload) as Record<string, unknown>) : fields;
  } catch {
    throw new ApiError(400, 'bad_request', 'body: not a Slack request body (form fields, a payload field holding JSON, or JSON)');
  }
}

export class FastifyReceiver implements Receiver {
  private app?: App;

  constructor(private readonly options: { signingSecret: string; logger: Logger; ackTimeoutMs?: number }) {}

  init(app: App): void {
    this.app = app;
  }

  /** golive's server listens; the receiver only serves a route on it. */
  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  /** The route, in a plugin of its own: only there are bodies read as raw text, which the signature covers. */
  routes(): FastifyPluginAsync {
    return async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser(['application/x-www-form-urlencoded', 'application/json'], { parseAs: 'string', bodyLimit: SLACK_BODY_LIMIT_BYTES }, (_request, body, done) => done(null, body));
      scope.post(SLACK_EVENTS_PATH, { config: { public: true }, schema: { hide: true } }, (request, reply) => this.handle(request, reply));
    };
  }

  private verify(request: FastifyRequest, raw: string): void {
    const signature = header(request, 'x-slack-signature');
    const timestamp = Number(header(request, 'x-slack-request-timestamp'));
    if (signature === undefined || !Number.isInteger(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > MAX_AGE_SECONDS) {
      throw new ApiError(401, 'unauthorized', UNSIGNED);
    }
    try {
      verifySlackRequest({ signingSecret: this.options.signingSecret, body: raw, headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp } });
    } catch {
      throw new ApiError(401, 'unauthorized', UNSIGNED);
    }
  }

  private async handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const raw = typeof request.body === 'string' ? request.body : '';
    const form = (header(request, 'content-type') ?? '').startsWith('application/x-www-form-urlencoded');
    // Slack's certificate check carries nothing to act on; it is answered without reading anything else.
    if (form && new URLSearchParams(raw).get('ssl_check') === '1') return reply.code(200).send();
    this.verify(request, raw);
    const body = parseBody(raw, form);
    if (body.type === 'url_verification') return reply.code(200).send({ challenge: body.challenge });
    const retry = header(request, 'x-slack-retry-num');
    const answer = await this.dispatch(body, retry === undefined ? undefined : Number(retry), header(request, 'x-slack-retry-reason'));
    if (answer.status !== 200) return reply.code(answer.status).send();
    const { body: acked } = answer;
    if (acked === undefined || acked === '') return reply.code(200).send();
    if (typeof acked === 'string') return reply.code(200).type('text/plain; charset=utf-8').send(acked);
    return reply.code(200).type('application/json; charset=utf-8').send(JSON.stringify(acked));
  }

  /** Hands the body to the app; resolves with the first ack, never waiting for the listener beyond it. */
  private dispatch(body: Record<string, unknown>, retryNum: number | undefined, retryReason: string | undefined): Promise<Answer> {
    const { app } = this;
    const { logger } = this.options;
    if (!app) throw new Error('the Slack receiver serves requests before its app was built');
    return new Promise((resolve) => {
      let answered = false;
      const answer = (value: Answer) => {
        if (answered) return false;
        answered = true;
        clearTimeout(timer);
        resolve(value);
        return true;
      };
      const timer = setTimeout(() => {
        if (answer({ status: 404 })) logger.error({ type: body.type }, `a Slack request was not acknowledged within ${ACK_TIMEOUT_MS / 1000} s`);
      }, this.options.ackTimeoutMs ?? ACK_TIMEOUT_MS);
      const ack = async (response?: unknown) => {
        if (!answer({ status: 200, body: response })) throw new ReceiverMultipleAckError();
      };
      app.processEvent({ body, ack, retryNum, retryReason }).then(
        () => {
          if (answer({ status: 404 })) logger.warn({ type: body.type }, 'no listener acknowledged a Slack request');
        },
        (error: unknown) => {
          logger.error({ err: error, type: body.type }, 'the Slack app failed on a request');
          answer({ status: error instanceof AuthorizationError ? 401 : 500 });
        },
      );
    });
  }
}
