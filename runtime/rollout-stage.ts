import { join, resolve } from 'node:path';
import { startPrometheus, type PrometheusServer } from '../stack/prometheus.ts';
import { startCheckoutApp, startLoad, type CheckoutApp, type LoadGenerator } from './rollout-app.ts';

/**
 * The go-live stage: the checkout app of a service (runtime/rollout-app.ts) asking golive's
 * built-in flag over OFREP which checkout each user gets, a load generator playing its users,
 * and a local Prometheus scraping the app every second with the service's alert rules loaded.
 * `rollouts/orders-new-checkout-demo.yaml` rolls the flag out on it, and its guard reads the
 * app's 5xx share from this Prometheus; `checklists/demo-go-live.yaml` checks the same app and
 * Prometheus. Everything runs on this machine, without Docker.
 */

export const STAGE_SERVICE = 'orders-demo';
export const STAGE_FLAG = 'new-checkout';
/** The alert the stage's rules file holds, for the checklist's prometheus.rules item to find. */
export const STAGE_ALERT = 'OrdersCheckoutErrors';

/**
 * The share of a service's requests answered with a 5xx over `window`: what the rollout plan's
 * guard watches. A short window makes a breach show within a scrape or two; the plan's query
 * must be this text (the stage test holds them together).
 */
export function errorShareQuery(service: string, window: string): string {
  return `sum(rate(http_requests_total{service="${service}",code=~"5.."}[${window}])) / sum(rate(http_requests_total{service="${service}"}[${window}]))`;
}

/** The guard's window: five scrapes, so one failing scrape already moves the share. */
export const GUARD_WINDOW = '5s';

/** The service's alerting rules: the error alert on a longer window than the guard (a page, not a rollback), and latency. */
function rulesFile(service: string): string {
  const slow = `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="${service}"}[1m]))) > 0.5`;
  return `groups:
  - name: ${service}-checkout
    rules:
      - alert: ${STAGE_ALERT}
        expr: ${errorShareQuery(service, '1m')} > 0.05
        for: 1m
        labels: { severity: page, service: ${service} }
        annotations: { summary: "more than 5% of ${service} checkouts fail" }
      - alert: OrdersCheckoutSlow
        expr: ${slow}
        for: 5m
        labels: { severity: ticket, service: ${service} }
        annotations: { summary: "p99 of ${service} checkouts above 500 ms" }
`;
}

export interface RolloutStageOptions {
  /** The stage's own folder (GOLIVE_HOME/rollout): Prometheus's config, rules, data and log. Earlier data there is replaced. */
  home: string;
  prometheusBin: string;
  /** golive's HTTP server, which serves OFREP. */
  ofrepUrl: string;
  /** The flag-read key the app evaluates with: created when the stage starts, held in memory only. */
  flagReadKey: string;
  service?: string;
  flagKey?: string;
  /** Checkout requests a second from the load generator (default 80). */
  requestsPerSecond?: number;
  /** Where the stage says what it started, and the app's OpenFeature SDK what went wrong; the demo's log file. */
  logger?: { info(message: string): void; warn(message: string): void };
}

/** The variables the demo's checklist and rollout plan name in their targets. */
export interface RolloutStageEnv {
  DEMO_CHECKOUT_URL: string;
  DEMO_PROMETHEUS_URL: string;
  [name: string]: string;
}

export interface RolloutStage {
  env: RolloutStageEnv;
  service: string;
  flagKey: string;
  app: CheckoutApp;
  prometheus: PrometheusServer;
  load: LoadGenerator;
  /** Turns errors for users on the new checkout on or off; returns when (ms since epoch). */
  injectErrors(on: boolean): number;
  /** The guard's value now: the 5xx share over GUARD_WINDOW, as Prometheus has it; undefined without data. */
  errorShare(): Promise<number | undefined>;
  /** Polls OFREP until the flag reads `percent`; returns when it first did (ms since epoch). */
  waitForFlag(percent: number, timeoutMs?: number): Promise<number>;
  /** Stops the load, the app and Prometheus; Prometheus's data and log stay in `home`. */
  stop(): Promise<void>;
}

const FLAG_POLL_MS = 25;

/**
 * Starts the stage: the app (golive must already serve OFREP at `ofrepUrl`), Prometheus scraping
 * it with the rules loaded, and the load; resolves once Prometheus has a value of the guard's
 * query, i.e. once a guard reading would be conclusive.
 */
export async function startRolloutStage(options: RolloutStageOptions): Promise<RolloutStage> {
  const service = options.service ?? STAGE_SERVICE;
  const flagKey = options.flagKey ?? STAGE_FLAG;
  const home = resolve(options.home);
  const stops: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    const failures: string[] = [];
    for (const stop of stops.splice(0).reverse()) await stop().catch((error: unknown) => failures.push(String(error)));
    if (failures.length > 0) throw new Error(`the go-live stage did not stop cleanly: ${failures.join('; ')}`);
  };
  try {
    const app = await startCheckoutApp({ service, flagKey, ofrepUrl: options.ofrepUrl, flagReadKey: options.flagReadKey, logger: options.logger });
    stops.push(app.close);
    const prometheus = await startPrometheus({ binary: options.prometheusBin, dir: join(home, 'prometheus'), targets: [app.address], job: service, rules: rulesFile(service) });
    stops.push(prometheus.stop);
    const load = startLoad(app.url, options.requestsPerSecond ?? 80);
    stops.push(load.stop);
    const query = errorShareQuery(service, GUARD_WINDOW);
    options.logger?.info(`go-live stage: ${service} checkout app ${app.url}, Prometheus ${prometheus.url} (data in ${join(home, 'prometheus')})`);
    await prometheus.waitForData(query, 30_000);
    return {
      env: { DEMO_CHECKOUT_URL: app.url, DEMO_PROMETHEUS_URL: prometheus.url },
      service,
      flagKey,
      app,
      prometheus,
      load,
      injectErrors(on) {
        app.injectErrors(on);
        return Date.now();
      },
      errorShare: () => prometheus.value(query),
      async waitForFlag(percent, timeoutMs = 30_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          if ((await app.flagPercent()) === percent) return Date.now();
          if (Date.now() > deadline) throw new Error(`OFREP did not answer ${flagKey} at ${percent}% within ${timeoutMs / 1000}s`);
          await new Promise((done) => setTimeout(done, FLAG_POLL_MS));
        }
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
}
