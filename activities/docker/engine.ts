import { createInterface } from 'node:readline';
import { ApplicationFailure } from '@temporalio/common';
import Docker from 'dockerode';
import { businessFailure, reason, type FailureType } from '../../definitions/failures.ts';
import { cancellationSignal, deadlineSignal } from '../context.ts';

/** How long one Docker API request may take; pulls are bounded by the step's own timeout instead. */
const REQUEST_MS = 60_000;

/** A Docker host a step acts on: the client, and the host as the runbook wrote it (for messages). */
export interface DockerHost {
  docker: Docker;
  host: string;
}

/**
 * A client for `host`: unix:///path/to/docker.sock, or tcp://HOST:PORT and http://HOST:PORT
 * (plain HTTP). Every connection setting is given explicitly, so the worker's own DOCKER_HOST
 * never redirects a step to another daemon.
 */
export function dockerHost(host: string, context: string): DockerHost {
  const plain = { host: undefined, port: undefined, socketPath: undefined, protocol: 'http', ca: undefined, cert: undefined, key: undefined } as const;
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw businessFailure(`${context}: host ${host} must name a socket by its absolute path, like unix:///var/run/docker.sock`, 'InvalidTarget');
    return { docker: new Docker({ ...plain, socketPath }), host };
  }
  const url = URL.canParse(host) ? new URL(host) : undefined;
  if (!url || !['tcp:', 'http:'].includes(url.protocol) || url.hostname === '') {
    throw businessFailure(`${context}: host ${host} is not unix:///PATH, tcp://HOST:PORT or http://HOST:PORT`, 'InvalidTarget');
  }
  // Without a port, tcp:// means Docker's plain-HTTP port and http:// the HTTP default.
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'tcp:' ? 2375 : 80;
  return { docker: new Docker({ ...plain, host: url.hostname.replace(/^\[|\]$/g, ''), port }), host };
}

/** The HTTP status Docker answered, when it answered at all. */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('statusCode' in error)) return undefined;
  return typeof error.statusCode === 'number' ? error.statusCode : undefined;
}

/** Docker's own message (`{"message": ...}`), without the client's "(HTTP code 404) ..." prefix. */
function dockerMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'json' in error) {
    const json = error.json;
    if (typeof json === 'object' && json !== null && 'message' in json && typeof json.message === 'string') return json.message;
  }
  return reason(error).replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}

/**
 * Rethrows a failed Docker request: a refusal (4xx) fails the step with Docker's message; a
 * server error or a daemon that does not answer is thrown plainly, so Temporal retries it.
 */
export function rethrowDocker(error: unknown, context: string, host: string): never {
  if (error instanceof ApplicationFailure) throw error;
  const status = statusOf(error);
  if (status === undefined) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
    if (code === 'EACCES' || code === 'EPERM') {
      throw businessFailure(`${context}: the worker may not use the Docker socket at ${host}: ${reason(error)}`, 'InvalidTarget', error);
    }
    throw new Error(`${context}: no answer from Docker at ${host}: ${reason(error)}`, { cause: error });
  }
  if (status >= 500) throw new Error(`${context}: Docker at ${host} answered ${status}: ${dockerMessage(error)}`, { cause: error });
  throw businessFailure(`${context}: Docker at ${host} refused (${status}): ${dockerMessage(error)}`, refusalType(status), error);
}

/** 404 no such container or image, 409 a conflict, 400 a bad parameter; any other refusal is the host's (authorization). */
function refusalType(status: number): FailureType {
  if (status === 404) return 'NotFound';
  if (status === 409) return 'Conflict';
  return status === 400 ? 'InvalidInput' : 'InvalidTarget';
}

/** Runs one Docker request with a deadline (and Temporal's cancellation), rethrowing its failure. */
export async function request<T>(target: DockerHost, context: string, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
  try {
    return await send(deadlineSignal(REQUEST_MS));
  } catch (error) {
    rethrowDocker(error, context, target.host);
  }
}

/**
 * `fromImage` and `tag` of an image reference: `repo@sha256:...` pulls that digest (Docker takes
 * a digest as the tag), `repo:1.2` that tag, a bare `repo` its latest tag, never every tag.
 */
export function pullReference(image: string): { fromImage: string; tag: string } {
  const at = image.indexOf('@');
  if (at >= 0) return { fromImage: withoutTag(image.slice(0, at)), tag: image.slice(at + 1) };
  const colon = image.lastIndexOf(':');
  if (colon > image.lastIndexOf('/')) return { fromImage: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { fromImage: image, tag: 'latest' };
}

function withoutTag(name: string): string {
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}

/** One line of the pull's progress stream; a line with `error` ends the pull in failure. */
interface Progress {
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/** Pulls `image` and follows the progress stream to its end; an error in the stream fails the step. */
export async function pullImage(target: DockerHost, image: string, context: string): Promise<void> {
  // Only a signal that exists: the client would put an absent one in the query string.
  const abortSignal = cancellationSignal();
  try {
    const stream = await target.docker.createImage({ ...pullReference(image), ...(abortSignal ? { abortSignal } : {}) });
    for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
      if (line.trim() === '') continue;
      const progress = parseProgress(line);
      const failed = progress.errorDetail?.message ?? progress.error;
      if (failed !== undefined) throw businessFailure(`${context}: Docker at ${target.host} could not pull ${image}: ${failed}`, 'NotFound');
    }
  } catch (error) {
    rethrowDocker(error, `${context}: pull ${image}`, target.host);
  }
}

function parseProgress(line: string): Progress {
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Progress) : {};
  } catch {
    return {};
  }
}
