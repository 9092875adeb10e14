import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OpenFeature, type Client as FeatureClient } from '@openfeature/server-sdk';
import { Counter, Histogram, Registry } from 'prom-client';

/**
 * The service of the go-live stage: a checkout app that asks golive, per request, which checkout
 * a user gets, the way any app would — the OpenFeature server SDK with the OFREP provider and a
 * flag-read key — and a load generator playing its users. The app's own metrics are what the
 * rollout's guards read, and its request log is the ground truth of who saw the new checkout.
 */

export type Checkout = 'new' | 'old';

/** One request the app answered: who, which checkout, what status. */
interface Served {
  at: number;
  user: string;
  checkout: Checkout;
  code: number;
}

/** What the app served in a span of time. */
export interface Traffic {
  requests: number;
  /** Answers with a 5xx. */
  errors: number;
  /** Distinct users who were served the new checkout. */
  newCheckoutUsers: number;
  /** Distinct users who got a 5xx. */
  failedUsers: number;
  users: number;
}

export interface CheckoutAppOptions {
  service: string;
  flagKey: string;
  /** golive's HTTP server, where OFREP is served. */
  ofrepUrl: string;
  /** A flag-read key (`glf_…`), created when the stage starts; never written anywhere. */
  flagReadKey: string;
  /** Where the OpenFeature SDK's own complaints go (the demo's log file); they are dropped without one. */
  logger?: { warn(message: string): void };
}

export interface CheckoutApp {
  /** `127.0.0.1:PORT`, as Prometheus scrapes it. */
  address: string;
  url: string;
  /** While on, users on the new checkout get a 500: the bug the rollout's guard has to catch. */
  injectErrors(on: boolean): void;
  /** What the app served from `from` until `to` (ms since epoch; now when absent). */
  traffic(from: number, to?: number): Traffic;
  /** The flag's percentage as OFREP answers it now; undefined when golive gave no answer. */
  flagPercent(): Promise<number | undefined>;
  close(): Promise<void>;
}

/** The newest answers kept for traffic(): a few minutes at the load generator's rate. */
const LOG_LIMIT = 100_000;

/** The app's metrics in a registry of its own, with every series it can produce there from the start at 0. */
function checkoutMetrics(service: string) {
  const registry = new Registry();
  const requests = new Counter({ name: 'http_requests_total', help: 'checkout requests answered, by status and checkout', labelNames: ['service', 'code', 'checkout'], registers: [registry] });
  const latency = new Histogram({
    name: 'http_request_duration_seconds', help: 'time to answer a checkout request', labelNames: ['service', 'checkout'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1], registers: [registry],
  });
  // A 5xx series that only appears with the first error would leave the error-share guard without data until then.
  for (const checkout of ['new', 'old'] as const) {
    for (const code of ['200', '500']) requests.labels({ service, code, checkout }).inc(0);
    latency.labels({ service, checkout }).observe(0);
  }
  return { registry, requests, latency };
}

/** An OpenFeature client of its own domain, so several apps (or tests) in one process keep their own keys. */
async function featureClient(options: CheckoutAppOptions): Promise<FeatureClient> {
  const domain = `${options.service}-checkout-${randomUUID().slice(0, 8)}`;
  const provider = new OFREPProvider({ baseUrl: options.ofrepUrl, headers: [['Authorization', `Bearer ${options.flagReadKey}`]] });
  await OpenFeature.setProviderAndWait(domain, provider);
  // The SDK's default logger writes to the console, in the middle of the demo's story.
  const warn = (...args: unknown[]) => options.logger?.warn(`openfeature: ${args.map(String).join(' ')}`);
  return OpenFeature.getClient(domain).setLogger({ error: warn, warn, info: () => {}, debug: () => {} });
}

const answer = (response: ServerResponse, code: number, body: unknown, type = 'application/json') =>
  response.writeHead(code, { 'content-type': type }).end(typeof body === 'string' ? body : JSON.stringify(body));

/** Starts the checkout app on a free port of 127.0.0.1: GET /checkout?user=ID, /healthz, /metrics. */
export async function startCheckoutApp(options: CheckoutAppOptions): Promise<CheckoutApp> {
  const { service, flagKey } = options;
  const metrics = checkoutMetrics(service);
  const features = await featureClient(options);
  const log: Served[] = [];
  let failing = false;

  async function checkout(response: ServerResponse, url: URL): Promise<void> {
    const started = performance.now();
    const user = url.searchParams.get('user');
    if (!user) return void answer(response, 400, { error: 'say who checks out: /checkout?user=ID' });
    // No answer from golive means the old checkout: the flag's default, as an app should fail safe.
    const details = await features.getBooleanDetails(flagKey, false, { targetingKey: user });
    const served: Checkout = details.value ? 'new' : 'old';
    const code = failing && served === 'new' ? 500 : 200;
    metrics.requests.inc({ service, code: String(code), checkout: served });
    metrics.latency.observe({ service, checkout: served }, (performance.now() - started) / 1000);
    log.push({ at: Date.now(), user, checkout: served, code });
    if (log.length > LOG_LIMIT) log.splice(0, log.length - LOG_LIMIT);
    answer(response, code, { user, checkout: served, reason: details.reason, ...(code === 500 ? { error: 'the new checkout failed to place the order' } : {}) });
  }

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://checkout');
    if (url.pathname === '/checkout') return checkout(response, url);
    if (url.pathname === '/metrics') return void answer(response, 200, await metrics.registry.metrics(), metrics.registry.contentType);
    if (url.pathname === '/healthz') return void answer(response, 200, `${service} checkout ok\n`, 'text/plain');
    answer(response, 404, { error: `no ${url.pathname}: try /checkout?user=ID, /healthz or /metrics` });
  }

  const server = createServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      if (!response.headersSent) answer(response, 500, { error: error instanceof Error ? error.message : String(error) });
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    injectErrors: (on) => {
      failing = on;
    },
    traffic(from, to = Date.now()) {
      const span = log.filter((entry) => entry.at >= from && entry.at <= to);
      return {
        requests: span.length,
        errors: span.filter((entry) => entry.code >= 500).length,
        newCheckoutUsers: new Set(span.filter((entry) => entry.checkout === 'new').map((entry) => entry.user)).size,
        failedUsers: new Set(span.filter((entry) => entry.code >= 500).map((entry) => entry.user)).size,
        users: new Set(span.map((entry) => entry.user)).size,
      };
    },
    async flagPercent() {
      const details = await features.getBooleanDetails(flagKey, false, { targetingKey: 'golive-stage-probe' });
      const percent = details.flagMetadata.percent;
      return details.errorCode === undefined && typeof percent === 'number' ? percent : undefined;
    },
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** Users of the load generator: `user-0001` … `user-1000`, so a percentage of them is a stable set. */
export const USERS = 1_000;

export interface LoadGenerator {
  /** Requests sent, and those that got no answer at all (not a 5xx: no HTTP answer). */
  readonly sent: number;
  readonly unanswered: number;
  stop(): Promise<void>;
}

/** Sends `perSecond` checkout requests a second for random users until stopped, never more than `perSecond` at once. */
export function startLoad(appUrl: string, perSecond: number): LoadGenerator {
  const tickMs = 50;
  const perTick = Math.max(1, Math.round((perSecond * tickMs) / 1000));
  const inFlight = new Set<Promise<void>>();
  let [sent, unanswered] = [0, 0];
  const timer = setInterval(() => {
    for (let index = 0; index < perTick && inFlight.size < perSecond; index += 1) {
      const user = `user-${String(1 + Math.floor(Math.random() * USERS)).padStart(4, '0')}`;
      sent += 1;
      const request: Promise<void> = fetch(`${appUrl}/checkout?user=${user}`)
        .then((response) => response.arrayBuffer().then(() => undefined))
        .catch(() => void (unanswered += 1))
        .finally(() => inFlight.delete(request));
      inFlight.add(request);
    }
  }, tickMs);
  return {
    get sent() {
      return sent;
    },
    get unanswered() {
      return unanswered;
    },
    async stop() {
      clearInterval(timer);
      await Promise.allSettled([...inFlight]);
    },
  };
}
