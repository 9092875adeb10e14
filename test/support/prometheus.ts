import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
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
