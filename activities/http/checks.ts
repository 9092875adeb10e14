import { connect, type PeerCertificate } from 'node:tls';
import { ApplicationFailure } from '@temporalio/common';
import { durationMs } from '../../definitions/duration.ts';
import { stepTarget, type ActionCall, type ResolvedTarget } from '../call.ts';
import { cancellationSignal, deadlineSignal, heartbeat } from '../context.ts';
import { businessFailure, reason, rethrow } from '../../definitions/failures.ts';

/**
 * The target URL with `path` appended, query parameters of both kept:
 * `https://api/v1?key=k` + `/healthz?deep=1` → `https://api/v1/healthz?key=k&deep=1`. Throws on an invalid base.
 */
export function joinUrl(base: string, path: string): string {
  const url = new URL(base);
  const [pathname = '', query] = path.split(/\?(.*)/s, 2);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${pathname.startsWith('/') ? pathname : `/${pathname}`}`;
  for (const [key, value] of new URLSearchParams(query ?? '')) url.searchParams.append(key, value);
  return url.toString();
}

function httpUrl(target: ResolvedTarget<'http'>, path: string): string {
  const url = URL.canParse(target.spec.url) ? new URL(joinUrl(target.spec.url, path)) : null;
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw businessFailure(`target ${target.name}: url is not an http:// or https:// URL`, 'InvalidTarget');
  }
  return url.toString();
}

/**
 * Requests the target once. A wrong status or a missing body text fails with a retryable
 * CheckFailed, and no answer at all with a plain error, so the step's `retries` poll until
 * healthy. Messages name the target and path, never the resolved URL (it may carry a token).
 */
export async function check(call: ActionCall<'http.check'>) {
  const target = stepTarget(call, 'http');
  const { path, method, expectStatus, bodyContains, timeout } = call.input;
  const context = `http.check ${target.name}: ${method} ${path}`;
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(httpUrl(target, path), { method, signal: deadlineSignal(durationMs(timeout)), redirect: 'manual' });
  } catch (error) {
    throw new Error(`${context} failed: ${reason(error)}`, { cause: error });
  }
  const latencyMs = Math.round(performance.now() - started);
  const body = bodyContains === undefined ? await response.body?.cancel() : await response.text();
  const details = { status: response.status, latencyMs };
  if (response.status !== expectStatus) {
    throw ApplicationFailure.create({ message: `${context} answered ${response.status}, expected ${expectStatus}`, type: 'CheckFailed', details: [details] });
  }
  if (bodyContains !== undefined && !(body ?? '').includes(bodyContains)) {
    throw ApplicationFailure.create({ message: `${context} answered ${response.status} without "${bodyContains}" in its body`, type: 'CheckFailed', details: [details] });
  }
  return { status: response.status, ok: response.ok, latencyMs };
}

/** Sends `requests` GETs, `concurrency` at a time, and counts the answers by status. */
export async function burst(call: ActionCall<'http.burst'>) {
  const target = stepTarget(call, 'http');
  const { path, requests, concurrency } = call.input;
  const url = httpUrl(target, path);
  const byStatus: Record<string, number> = {};
  let errors = 0;
  let lastError = '';
  let sent = 0;
  const started = performance.now();
  const worker = async () => {
    while (sent < requests) {
      sent += 1;
      try {
        const response = await fetch(url, { signal: deadlineSignal(10_000) });
        await response.body?.cancel();
        byStatus[response.status] = (byStatus[response.status] ?? 0) + 1;
      } catch (error) {
        errors += 1;
        lastError = reason(error);
      }
      heartbeat({ sent });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, requests) }, worker));
  cancellationSignal()?.throwIfAborted();
  if (errors === requests) throw new Error(`http.burst ${target.name}: all ${requests} requests to ${path} failed: ${lastError}`);
  return { total: requests, byStatus, throttled: byStatus['429'] ?? 0, errors, durationMs: Math.round(performance.now() - started) };
}

const DAY_MS = 86_400_000;

function distinguishedName(name: PeerCertificate['subject'] | undefined): string {
  if (!name) return '';
  return Object.entries(name)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : String(value)}`)
    .join(', ');
}

interface Handshake {
  certificate: PeerCertificate;
  protocol: string | null;
  authorized: boolean;
  authorizationError?: string;
}

/** Node types authorizationError as an Error but sets a code string such as DEPTH_ZERO_SELF_SIGNED_CERT. */
function describeProblem(problem: unknown): string | undefined {
  if (typeof problem === 'string') return problem;
  return problem instanceof Error ? problem.message : undefined;
}

function handshake(url: URL, timeoutMs: number): Promise<Handshake> {
  return new Promise((done, fail) => {
    const port = Number(url.port || 443);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const isIp = /^[\d.]+$|:/.test(host);
    const socket = connect({ host, port, servername: isIp ? undefined : host, rejectUnauthorized: false, timeout: timeoutMs });
    socket.once('secureConnect', () => {
      const result = {
        certificate: socket.getPeerCertificate(),
        protocol: socket.getProtocol(),
        authorized: socket.authorized,
        authorizationError: describeProblem(socket.authorizationError),
      };
      socket.end();
      done(result);
    });
    socket.once('timeout', () => socket.destroy(Object.assign(new Error('TLS handshake timed out'), { code: 'ETIMEDOUT' })));
    socket.once('error', fail);
  });
}

/** Reads the certificate an https target presents; fails when it expires within `minDaysRemaining`. */
export async function certificate(call: ActionCall<'tls.certificate'>) {
  const target = stepTarget(call, 'http');
  const url = new URL(target.spec.url);
  const context = `tls.certificate ${target.name}`;
  if (url.protocol !== 'https:') throw businessFailure(`${context}: the target is not an https URL`, 'InvalidTarget');
  let result: Handshake;
  try {
    result = await handshake(url, 10_000);
  } catch (error) {
    rethrow(error, `${context}: TLS handshake failed`, 'CheckFailed');
  }
  const { certificate: peer } = result;
  if (!peer.valid_to) throw businessFailure(`${context}: the server presented no certificate`, 'CheckFailed');
  const validTo = new Date(peer.valid_to);
  const daysRemaining = Math.floor((validTo.getTime() - Date.now()) / DAY_MS);
  const subject = distinguishedName(peer.subject);
  if (daysRemaining < call.input.minDaysRemaining) {
    throw businessFailure(
      `${context}: certificate ${subject} expires in ${daysRemaining} days (${validTo.toISOString()}), below the minimum of ${call.input.minDaysRemaining}`,
      'CertificateExpiring',
    );
  }
  return {
    daysRemaining,
    validTo: validTo.toISOString(),
    issuer: distinguishedName(peer.issuer),
    subject,
    protocol: result.protocol,
    authorized: result.authorized,
    authorizationError: result.authorizationError ?? null,
  };
}

/** Polls the target until it answers as expected; reports when it first did. */
export async function waitHealthy(_call: ActionCall<'http.wait-healthy'>): Promise<Record<string, unknown>> {
  throw new Error('http.wait-healthy is not built yet');
}
