import { setTimeout as delay } from 'node:timers/promises';
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

/** The target's URL with `path` appended; refuses (InvalidTarget) a URL that is not http:// or https://. */
export function httpUrl(target: ResolvedTarget<'http'>, path: string): string {
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

/** One request of http.wait-healthy: passed, with when its answer arrived, or what it got instead. */
type Probe = { passed: true; arrivedAt: Date; status: number; latencyMs: number } | { passed: false; answer: string };

async function probe(url: string, expect: { status: number; bodyContains?: string }, signal: AbortSignal): Promise<Probe> {
  const started = performance.now();
  try {
    const response = await fetch(url, { signal, redirect: 'manual' });
    // Taken before the body is read: the moment the service answered.
    const arrivedAt = new Date();
    const latencyMs = Math.round(performance.now() - started);
    const body = expect.bodyContains === undefined ? await response.body?.cancel() : await response.text();
    if (response.status !== expect.status) return { passed: false, answer: `answered ${response.status}` };
    if (expect.bodyContains !== undefined && !(body ?? '').includes(expect.bodyContains)) {
      return { passed: false, answer: `answered ${response.status} without "${expect.bodyContains}" in its body` };
    }
    return { passed: true, arrivedAt, status: response.status, latencyMs };
  } catch (error) {
    return { passed: false, answer: `failed: ${reason(error)}` };
  }
}

/**
 * Requests the target every `every` until it answers `expectStatus` (with `bodyContains` in its
 * body when given), for at most `within`. Each request may take five intervals (1 to 5 s) and
 * does not hold up the next, so a service that hangs while it starts is still seen the moment it
 * answers. `passedAt` is when the first passing answer arrived: the moment a failover's RTO
 * clock stops. Not passing in time fails with Unhealthy, naming the last answer.
 */
export async function waitHealthy(call: ActionCall<'http.wait-healthy'>) {
  const target = stepTarget(call, 'http');
  const { path, expectStatus, bodyContains, within, every } = call.input;
  const url = httpUrl(target, path);
  const everyMs = durationMs(every);
  const attemptMs = Math.min(5_000, Math.max(1_000, everyMs * 5));
  const cancelled = cancellationSignal();
  // Aborted once an answer passed (the requests still out are dropped) or Temporal cancels.
  const decided = new AbortController();
  const stop = cancelled ? AbortSignal.any([decided.signal, cancelled]) : decided.signal;
  const firstAttemptAt = new Date();
  const deadline = firstAttemptAt.getTime() + durationMs(within);
  const pending = new Set<Promise<void>>();
  let attempts = 0;
  let lastAnswer = 'no answer';
  let passed: (Probe & { passed: true; attempt: number }) | undefined;
  for (let next = firstAttemptAt.getTime(); next <= deadline && !stop.aborted; next += everyMs) {
    await delay(Math.max(0, next - Date.now()), undefined, { signal: stop }).catch(() => undefined);
    if (stop.aborted) break;
    const attempt = (attempts += 1);
    const timeout = AbortSignal.timeout(Math.min(attemptMs, Math.max(everyMs, deadline - Date.now())));
    const request = probe(url, { status: expectStatus, bodyContains }, AbortSignal.any([stop, timeout])).then((outcome) => {
      if (outcome.passed) {
        passed ??= { ...outcome, attempt };
        decided.abort();
      } else if (!stop.aborted) {
        lastAnswer = outcome.answer;
      }
      pending.delete(request);
    });
    pending.add(request);
    heartbeat({ attempts, lastAnswer });
  }
  await Promise.all(pending);
  if (passed) {
    const { arrivedAt, status, latencyMs, attempt } = passed;
    return { passedAt: arrivedAt.toISOString(), attempts: attempt, status, latencyMs, firstAttemptAt: firstAttemptAt.toISOString() };
  }
  if (cancelled?.aborted) throw cancelled.reason;
  throw businessFailure(
    `http.wait-healthy ${target.name}: GET ${path} did not answer ${expectStatus}${bodyContains === undefined ? '' : ` with "${bodyContains}"`} ` +
      `within ${within} (${attempts} attempt${attempts === 1 ? '' : 's'}); the last one ${lastAnswer}`,
    'Unhealthy',
  );
}
