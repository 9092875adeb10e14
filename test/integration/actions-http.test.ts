import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Target } from '../../definitions/targets.ts';
import { freePort } from '../../stack/process.ts';
import { actionRequest, testActivities } from '../support/actions.ts';
import { startHttpServer, startHttpsServer, startScheduledBackend, type LocalServer, type ScheduledBackend } from '../support/backends.ts';
import { selfSignedCertificate } from '../support/tls.ts';

const SECRET = 'tok-3f9a7c1e';
let api: LocalServer;
let secure: LocalServer;
let booting: ScheduledBackend;
let hanging: ScheduledBackend;
let healthy = false;
let served = 0;
let activities: ReturnType<typeof testActivities>;
const apiTarget = { name: 'checkout-api', spec: { type: 'http', url: '${CHECKOUT_URL}' } } satisfies { name: string; spec: Target };

beforeAll(async () => {
  api = await startHttpServer((request, response) => {
    if (request.url?.startsWith('/healthz')) {
      response.writeHead(healthy ? 200 : 503).end(healthy ? 'status: ready' : 'status: starting');
    } else if (request.url?.startsWith('/slow')) {
      setTimeout(() => response.writeHead(200).end('late'), 2_000);
    } else {
      served += 1;
      response.writeHead(served > 50 ? 429 : 200).end();
    }
  });
  secure = await startHttpsServer(await selfSignedCertificate('checkout.test', 30), (_request, response) => response.writeHead(200).end('ok'));
  [booting, hanging] = await Promise.all([startScheduledBackend(), startScheduledBackend('hang')]);
  activities = testActivities({ CHECKOUT_URL: `${api.url}/?token=${SECRET}`, CHECKOUT_TLS_URL: secure.url });
});

afterAll(async () => {
  await Promise.all([api?.close(), secure?.close(), booting?.close(), hanging?.close()]);
});

const check = (input: Record<string, unknown>, target: { name: string; spec: Target } = apiTarget) =>
  activities['http.check'](actionRequest('http.check', input, { target }));

describe('http.check', () => {
  it('fails with a retryable CheckFailed while the service is not healthy, then passes', async () => {
    healthy = false;
    await expect(check({ path: '/healthz' })).rejects.toMatchObject({
      type: 'CheckFailed',
      nonRetryable: false,
      message: 'http.check checkout-api: GET /healthz answered 503, expected 200',
    });
    healthy = true;
    const result = await check({ path: '/healthz', bodyContains: 'ready' });
    expect(result).toEqual({ status: 200, ok: true, latencyMs: expect.any(Number) });
  });

  it('fails when the body lacks the expected text', async () => {
    healthy = true;
    await expect(check({ path: '/healthz', bodyContains: 'degraded' })).rejects.toMatchObject({
      type: 'CheckFailed',
      message: 'http.check checkout-api: GET /healthz answered 200 without "degraded" in its body',
    });
  });

  it('throws a plain error on a refused connection or a timeout, without the resolved URL', async () => {
    const down = { name: 'down', spec: { type: 'http', url: `http://127.0.0.1:${await freePort()}/?token=${SECRET}` } } as const;
    const refused = check({}, down);
    await expect(refused).rejects.toThrow(/^http\.check down: GET \/ failed: connect ECONNREFUSED/);
    await expect(refused).rejects.not.toHaveProperty('nonRetryable');
    await expect(refused).rejects.not.toThrow(SECRET);
    await expect(check({ path: '/slow', timeout: '200ms' })).rejects.toThrow('http.check checkout-api: GET /slow failed: timed out');
  });

  it('fails without retry naming target and variable when an environment variable is missing', async () => {
    const partial = { name: 'payments-api', spec: { type: 'http', url: '${CHECKOUT_URL}${PAYMENTS_PATH}' } } as const;
    const failing = check({}, partial);
    await expect(failing).rejects.toMatchObject({
      type: 'MissingEnvironment',
      nonRetryable: true,
      message: 'target payments-api: environment variable PAYMENTS_PATH (used in url) is not set on this worker',
    });
    await expect(failing).rejects.not.toThrow(SECRET);
  });
});

describe('http.burst', () => {
  it('counts answers by status and reports how many were throttled', async () => {
    served = 0;
    const result = await activities['http.burst'](actionRequest('http.burst', { path: '/api', requests: 120, concurrency: 10 }, { target: apiTarget }));
    expect(result).toMatchObject({ total: 120, byStatus: { 200: 50, 429: 70 }, throttled: 70, errors: 0 });
  });
});

describe('tls.certificate', () => {
  const tlsTarget = { name: 'checkout-tls', spec: { type: 'http', url: '${CHECKOUT_TLS_URL}' } } as const;
  const certificate = (input: Record<string, unknown>, target: { name: string; spec: Target } = tlsTarget) =>
    activities['tls.certificate'](actionRequest('tls.certificate', input, { target }));

  it('reports days remaining, issuer, subject and protocol of the served certificate', async () => {
    const result = await certificate({});
    expect(result).toMatchObject({
      daysRemaining: expect.any(Number),
      issuer: 'O=golive tests, CN=checkout.test',
      subject: 'O=golive tests, CN=checkout.test',
      protocol: 'TLSv1.3',
      authorized: false,
      authorizationError: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });
    expect(result.daysRemaining).toBeGreaterThanOrEqual(29);
    expect(result.daysRemaining).toBeLessThanOrEqual(30);
    expect(Date.parse(String(result.validTo))).toBeGreaterThan(Date.now());
  });

  it('fails without retry when the certificate expires sooner than allowed', async () => {
    await expect(certificate({ minDaysRemaining: 60 })).rejects.toMatchObject({
      type: 'CertificateExpiring',
      nonRetryable: true,
      message: expect.stringMatching(/^tls\.certificate checkout-tls: certificate O=golive tests, CN=checkout\.test expires in (29|30) days \(.*\), below the minimum of 60$/),
    });
  });

  it('refuses an http:// target', async () => {
    await expect(certificate({}, apiTarget)).rejects.toMatchObject({ type: 'InvalidTarget', message: 'tls.certificate checkout-api: the target is not an https URL' });
  });
});

describe('http.wait-healthy', () => {
  const waitFor = (server: LocalServer, input: Record<string, unknown>) =>
    actionRequest('http.wait-healthy', { path: '/healthz', ...input }, { target: { name: 'recovery-api', spec: { type: 'http', url: server.url } } });

  it('passes as soon as the service turns healthy, reporting when its first healthy answer arrived', async () => {
    const healthyAt = Date.now() + 800;
    booting.healthyFrom(healthyAt);
    const result = await activities['http.wait-healthy'](waitFor(booting, { every: '100ms', bodyContains: 'ready' }));
    const returnedAt = Date.now();
    const passedAt = Date.parse(String(result.passedAt));
    expect(result).toMatchObject({ status: 200, latencyMs: expect.any(Number), attempts: expect.any(Number) });
    expect(result.attempts).toBeGreaterThanOrEqual(8);
    // Within one interval of the moment it turned healthy, and the moment its answer arrived.
    expect(passedAt - healthyAt).toBeGreaterThanOrEqual(0);
    expect(passedAt - healthyAt).toBeLessThanOrEqual(100 + 30);
    expect(passedAt - (booting.firstHealthyAnswer() ?? 0)).toBeLessThanOrEqual(10);
    expect(returnedAt - passedAt).toBeLessThan(50);
    expect(healthyAt - Date.parse(String(result.firstAttemptAt))).toBeGreaterThan(700);
  });

  it('keeps polling past requests that hang while the service starts, and sees the first answer', async () => {
    const healthyAt = Date.now() + 1_500;
    hanging.healthyFrom(healthyAt);
    const result = await activities['http.wait-healthy'](waitFor(hanging, { every: '100ms' }));
    expect(Date.parse(String(result.passedAt)) - healthyAt).toBeLessThanOrEqual(100 + 30);
  });

  it('fails without retry after `within`, naming the last answer and the attempts', async () => {
    booting.healthyFrom(null);
    const started = Date.now();
    await expect(activities['http.wait-healthy'](waitFor(booting, { every: '100ms', within: '700ms' }))).rejects.toMatchObject({
      type: 'Unhealthy',
      nonRetryable: true,
      message: expect.stringMatching(/^http\.wait-healthy recovery-api: GET \/healthz did not answer 200 within 700ms \((7|8) attempts\); the last one answered 503$/),
    });
    expect(Date.now() - started).toBeLessThan(1_000);
    const down = { name: 'down', spec: { type: 'http', url: `http://127.0.0.1:${await freePort()}/?token=${SECRET}` } } as const;
    const refused = activities['http.wait-healthy'](actionRequest('http.wait-healthy', { within: '300ms' }, { target: down }));
    await expect(refused).rejects.toThrow(/^http\.wait-healthy down: GET \/ did not answer 200 within 300ms \(\d+ attempts\); the last one failed: connect ECONNREFUSED/);
    await expect(refused).rejects.not.toThrow(SECRET);
  });

  it('stops at once when its step is cancelled', async () => {
    hanging.healthyFrom(null);
    const environment = new MockActivityEnvironment();
    const waiting = environment.run(activities['http.wait-healthy'], waitFor(hanging, { within: '1m' }));
    const cancelledAt = Date.now() + 300;
    setTimeout(() => environment.cancel(), 300);
    await expect(waiting).rejects.toMatchObject({ name: 'CancelledFailure' });
    expect(Date.now() - cancelledAt).toBeLessThan(200);
  });
});
