import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Target } from '../../definitions/targets.ts';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import { startPrometheus as startStackPrometheus, type PrometheusServer } from '../../stack/prometheus.ts';
import { startHttpServer, type LocalServer } from './backends.ts';

/** A prom-client registry served at /metrics, as an application would expose it. */
export interface MetricsEndpoint extends LocalServer {
  registry: Registry;
}

export async function startMetricsEndpoint(): Promise<MetricsEndpoint> {
  const registry = new Registry();
  const server = await startHttpServer((_request, response) => {
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500).end(String(error)),
    );
  });
  return { ...server, registry };
}

export type { PrometheusServer } from '../../stack/prometheus.ts';

/**
 * Prometheus scraping `targets` (HOST:PORT) every second, with its data in a temp folder removed on
 * stop; `rules` is the text of a rules file, evaluated every second.
 */
export async function startPrometheus(binary: string, targets: string[], rules?: string): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), 'golive-prometheus-'));
  try {
    const server = await startStackPrometheus({ binary, dir, targets, rules });
    return { ...server, stop: async () => { await server.stop(); await rm(dir, { recursive: true, force: true }); } };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** A checkout's metrics and the Prometheus that scrapes them, as the Prometheus actions read them. */
export interface CheckoutMetrics {
  app: MetricsEndpoint;
  prometheus: PrometheusServer;
  target: { name: string; spec: Target };
  stop(): Promise<void>;
}

/**
 * A checkout that answered 990 requests with 200 and 10 with 500 (`checkout_requests_total` by
 * code) and exports `checkout_error_ratio` 0.01, scraped by a Prometheus with `rules`; ready once
 * Prometheus has the ratio.
 */
export async function startCheckoutMetrics(rules?: string): Promise<CheckoutMetrics> {
  const app = await startMetricsEndpoint();
  const requests = new Counter({ name: 'checkout_requests_total', help: 'requests', labelNames: ['code'], registers: [app.registry] });
  requests.inc({ code: '200' }, 990);
  requests.inc({ code: '500' }, 10);
  new Gauge({ name: 'checkout_error_ratio', help: 'errors / requests', registers: [app.registry] }).set(0.01);
  const prometheus = await startPrometheus(requireTool(loadToolchain(), 'prometheus'), [app.address], rules);
  await prometheus.waitForData('checkout_error_ratio');
  return {
    app, prometheus, target: { name: 'metrics', spec: { type: 'prometheus', url: prometheus.url } },
    async stop() {
      await prometheus.stop();
      await app.close();
    },
  };
}
