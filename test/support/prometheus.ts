import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { freePort, stopChild, waitFor } from '../../stack/process.ts';
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

export interface PrometheusServer {
  url: string;
  /** Resolves once `query` returns at least one series, i.e. a scrape has landed. */
  waitForData(query: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts Prometheus scraping `targets` (HOST:PORT) every second, with its data in a temp folder. */
export async function startPrometheus(binary: string, targets: string[]): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), 'golive-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  await writeFile(config, `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ${JSON.stringify(targets)}\n`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(binary, [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ], { stdio: 'ignore' });
  const stop = async () => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  const answers = async (path: string, accept: (body: unknown) => boolean) => {
    const response = await fetch(`${url}${path}`).catch(() => undefined);
    return response?.ok === true && accept(await response.json().catch(() => undefined));
  };
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited at start-up (exit ${child.exitCode})`);
      return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok === true;
    }, 20_000, `prometheus did not become ready on ${url}`);
  } catch (error) {
    await stop();
    throw error;
  }
  const hasSeries = (body: unknown) =>
    typeof body === 'object' && body !== null && 'data' in body && JSON.stringify(body.data).includes('"metric"');
  return {
    url,
    waitForData: (query, timeoutMs = 20_000) =>
      waitFor(() => answers(`/api/v1/query?${new URLSearchParams({ query })}`, hasSeries), timeoutMs, `prometheus returned no data for ${query}`),
    stop,
  };
}
