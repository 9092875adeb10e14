import { createHash } from 'node:crypto';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { evaluateFlag, isFailure, type FlagEvaluation } from '../../definitions/flag-eval.ts';
import type { FlagCache } from '../../runtime/flag-cache.ts';
import { FLAG_KEY_PREFIX, type FlagKeyStore, type VerifiedFlagKey } from '../../store/flag-keys.ts';
import { INTERNAL_MESSAGE } from '../errors.ts';
import { createFlagKeyCache } from '../flag-key-cache.ts';

/**
 * golive's built-in flags over OFREP, the OpenFeature Remote Evaluation Protocol
 * (github.com/open-feature/protocol, service/openapi.yaml): any OpenFeature SDK with an OFREP
 * provider evaluates them. Authenticated by a flag-read key (`glf_…`, `golive flags keys
 * create`), never a person's token; the key's environment is the one evaluated. The hot path
 * reads flags and keys from memory, validates by hand and logs nothing per request.
 */

const JSON_TYPE = 'application/json; charset=utf-8';
const CHALLENGE = 'Bearer realm="golive-flags"';
const UNAUTHORIZED = 'send a flag-read key as Authorization: Bearer glf_… or X-API-Key: glf_… (create one with `golive flags keys create NAME`); the key is missing, unknown or revoked';

type RequestFailure = { errorCode: 'PARSE_ERROR' | 'INVALID_CONTEXT'; errorDetails: string };
type Context = { targetingKey: string | undefined };

/** The secret a request carries: Authorization: Bearer first, else X-API-Key (both in the OFREP spec). */
function credential(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) return /^Bearer +(\S+)\s*$/i.exec(header)?.[1];
  const apiKey = request.headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey !== '' ? apiKey : undefined;
}

/**
 * The evaluation context of a body `{context: {targetingKey?, …}}`. Not JSON is PARSE_ERROR; JSON
 * without a context object, or a targetingKey that is not a string, is INVALID_CONTEXT.
 */
function parseContext(body: unknown): Context | RequestFailure {
  let request: unknown;
  try {
    request = typeof body === 'string' && body !== '' ? JSON.parse(body) : undefined;
  } catch {
    return { errorCode: 'PARSE_ERROR', errorDetails: 'the body is not JSON: send {"context": {"targetingKey": "…"}}' };
  }
  if (request === undefined) return { errorCode: 'PARSE_ERROR', errorDetails: 'no body: send {"context": {"targetingKey": "…"}} as application/json' };
  const context = typeof request === 'object' && request !== null && 'context' in request ? request.context : undefined;
  if (typeof context !== 'object' || context === null || Array.isArray(context)) {
    return { errorCode: 'INVALID_CONTEXT', errorDetails: 'the body needs a context object: {"context": {"targetingKey": "…"}}' };
  }
  const targetingKey = 'targetingKey' in context ? context.targetingKey : undefined;
  if (targetingKey !== undefined && typeof targetingKey !== 'string') {
    return { errorCode: 'INVALID_CONTEXT', errorDetails: 'context.targetingKey must be a string' };
  }
  return { targetingKey };
}

const isRequestFailure = (parsed: Context | RequestFailure): parsed is RequestFailure => 'errorCode' in parsed;

/** 401 with the same words whatever was wrong, so a caller learns nothing about which keys exist. */
function refuse(reply: FastifyReply): undefined {
  void send(reply.header('www-authenticate', CHALLENGE), 401, { errorDetails: UNAUTHORIZED });
  return undefined;
}

const send = (reply: FastifyReply, status: number, body: unknown) => reply.code(status).type(JSON_TYPE).send(JSON.stringify(body));

/** A strong ETag of the exact body: equal for equal answers on any server, new when a flag or the context changes it. */
const etagOf = (body: string) => `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;

/** If-None-Match holds this ETag: one of a comma-separated list, weak or strong, or `*`. */
function unchanged(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed.replace(/^W\//, '') === etag;
  });
}

/** Errors before the handler (a body over the limit, a framework failure) in OFREP's general error shape. */
function replyWithOfrepError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
  if (status === 500) request.log.error({ err: error, path: request.url.split('?')[0] }, 'OFREP request failed');
  return send(reply, status, { errorDetails: status === 500 ? INTERNAL_MESSAGE : error.message });
}

const DOC = {
  single: {
    tags: ['ofrep'],
    summary: 'OFREP: evaluate one flag for an evaluation context (body {"context": {"targetingKey": "…"}}); needs a flag-read key, not an API token',
    security: [{ flagKey: [] }],
  },
  bulk: {
    tags: ['ofrep'],
    summary: "OFREP: evaluate every flag of the key's environment; ETag and If-None-Match (304) as the OFREP spec says",
    security: [{ flagKey: [] }],
  },
};

export interface OfrepDeps {
  flags: Pick<FlagKeyStore, 'verifyKey'>;
  flagCache: FlagCache;
}

/** POST /ofrep/v1/evaluate/flags/{key} and POST /ofrep/v1/evaluate/flags: public to the API token hook, checked by their own key. */
export function ofrepRoutes(deps: OfrepDeps): FastifyPluginAsync {
  const verified = createFlagKeyCache((secret) => deps.flags.verifyKey(secret));
  const { flagCache } = deps;

  /** The key the request carries, or undefined once answered: 401 for no, wrong or revoked key, 503 when Postgres cannot say. */
  async function caller(request: FastifyRequest, reply: FastifyReply): Promise<VerifiedFlagKey | undefined> {
    const secret = credential(request);
    if (!secret?.startsWith(FLAG_KEY_PREFIX)) return refuse(reply);
    try {
      return (await verified(secret)) ?? refuse(reply);
    } catch (error) {
      request.log.error({ err: error }, 'cannot check a flag-read key: golive\'s database did not answer');
      void send(reply, 503, { errorDetails: 'cannot check the flag-read key now: golive\'s database did not answer; try again' });
      return undefined;
    }
  }

  return async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    app.setErrorHandler(replyWithOfrepError);
    // No child logger per request (fastify's default binds each request's id): nothing logs per evaluation.
    app.setChildLoggerFactory((logger) => logger);

    app.post<{ Params: { key: string } }>('/ofrep/v1/evaluate/flags/:key', { config: { public: true }, schema: DOC.single }, async (request, reply) => {
      const key = await caller(request, reply);
      if (!key) return reply;
      const flagKey = request.params.key;
      const context = parseContext(request.body);
      if (isRequestFailure(context)) return send(reply, 400, { key: flagKey, ...context });
      const flag = flagCache.flag(key.environment, flagKey);
      if (!flag) {
        return send(reply, 404, { key: flagKey, errorCode: 'FLAG_NOT_FOUND', errorDetails: `no flag ${flagKey} in environment ${key.environment}` });
      }
      const evaluation = evaluateFlag(flag, context.targetingKey);
      return send(reply, isFailure(evaluation) ? 400 : 200, evaluation);
    });

    app.post('/ofrep/v1/evaluate/flags', { config: { public: true }, schema: DOC.bulk }, async (request, reply) => {
      const key = await caller(request, reply);
      if (!key) return reply;
      const context = parseContext(request.body);
      if (isRequestFailure(context)) return send(reply, 400, context);
      const flags: FlagEvaluation[] = flagCache.flags(key.environment).map((flag) => evaluateFlag(flag, context.targetingKey));
      const body = JSON.stringify({ flags });
      const etag = etagOf(body);
      reply.header('etag', etag);
      if (unchanged(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return reply.code(200).type(JSON_TYPE).send(body);
    });
  };
}
