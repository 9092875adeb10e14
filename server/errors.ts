import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ControlConflict, ControlForbidden, NotFoundError, StackUnavailable, UserError } from '../runtime/errors.ts';
import { ErrorBody } from './api-schemas.ts';

/** An answer the API chooses: status, a stable code and a message safe to show the caller. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const CODES: Record<number, string> = {
  400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed', 409: 'conflict',
  413: 'payload_too_large', 414: 'uri_too_long', 415: 'unsupported_media_type', 503: 'unavailable',
};
const codeFor = (status: number) => CODES[status] ?? (status >= 500 ? 'internal' : 'bad_request');

export const INTERNAL_MESSAGE = 'internal error; see the server log';
export const BODY_LIMIT_BYTES = 64 * 1024;

const hasFastifyCode = (error: unknown, code: string) => typeof error === 'object' && error !== null && 'code' in error && error.code === code;

/** `limit: Too big…`, naming the field, or the part of the request when the whole of it is wrong. */
function validationMessage(error: FastifyError & { validation: { instancePath: string; message?: string }[] }): string {
  return error.validation
    .map((issue) => `${issue.instancePath.slice(1).replaceAll('/', '.') || error.validationContext || 'request'}: ${issue.message ?? 'invalid'}`)
    .join('; ');
}

/** What a failure becomes on the wire; anything not known to be the caller's is a 500 without details. */
function classify(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) return new ApiError(400, 'bad_request', validationMessage(error));
  if (error instanceof NotFoundError) return new ApiError(404, 'not_found', error.message);
  if (error instanceof ControlForbidden) return new ApiError(403, 'forbidden', error.message);
  if (error instanceof ControlConflict) return new ApiError(409, 'conflict', error.message);
  if (error instanceof UserError) return new ApiError(400, 'bad_request', error.message);
  if (error instanceof StackUnavailable) return new ApiError(503, 'unavailable', error.message);
  if (hasFastifyCode(error, 'FST_ERR_CTP_BODY_TOO_LARGE')) return new ApiError(413, 'payload_too_large', `body: larger than ${BODY_LIMIT_BYTES / 1024} KiB`);
  if (hasFastifyCode(error, 'FST_ERR_CTP_INVALID_MEDIA_TYPE')) return new ApiError(415, 'unsupported_media_type', 'body: send it as application/json');
  if (hasFastifyCode(error, 'FST_ERR_CTP_INVALID_JSON_BODY')) return new ApiError(400, 'bad_request', 'body: not valid JSON');
  if (hasFastifyCode(error, 'FST_ERR_CTP_EMPTY_JSON_BODY')) return new ApiError(400, 'bad_request', 'body: empty; send a JSON object or no content-type');
  const status = typeof error === 'object' && error !== null && 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 500;
  if (status >= 400 && status < 500 && error instanceof Error) return new ApiError(status, codeFor(status), error.message);
  return undefined;
}

/** Fastify's error handler: every failure answered in the one error shape; 500s logged with the request's path. */
export function replyWithError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const known = classify(error);
  if (!known) {
    request.log.error({ err: error, method: request.method, path: request.url.split('?')[0] }, 'request failed');
    return reply.code(500).send({ error: { code: 'internal', message: INTERNAL_MESSAGE } });
  }
  if (known.status >= 500) request.log.warn({ err: error, path: request.url.split('?')[0] }, 'request could not be served');
  return reply.code(known.status).headers(known.headers).send({ error: { code: known.code, message: known.message } });
}

/** Errors fastify meets before routing (a path that cannot be decoded). */
export function replyToFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const path = (request.raw.url ?? '/').split('?')[0];
  const status = error.statusCode ?? 400;
  const message = error.code === 'FST_ERR_BAD_URL' ? `malformed request path ${path}` : error.message;
  void reply.code(status).send({ error: { code: codeFor(status), message } });
}

/** The answer to a path no route serves. */
export function replyNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.url.split('?')[0];
  return reply.code(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${path}` } });
}

/** OpenAPI entries for the error answers a route can give. */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorBody> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorBody]));
}
