import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, stopChild, waitFor } from './process.ts';

/**
 * Prometheus on this machine (Debian's `prometheus`), scraping a few local targets every second,
 * with an optional rules file, its data and log in a folder of its own. For stages an operator
 * watches (the go-live demo) and benchmarks; no Docker, nothing outside the folder.
 */
export interface PrometheusOptions {
  binary: string;
  /** Config, rules, data and log go here; earlier data in it is replaced. */
  dir: string;
  /** HOST:PORT of each app to scrape, all as one job. */
  targets: readonly string[];
  job?: string;
  /** The text of a rules file (groups of alerting or recording rules), evaluated every second. */
  rules?: string;
}

export interface PrometheusServer {
  url: string;
  /** Resolves once `query` returns at least one series, i.e. a scrape has landed. */
  waitForData(query: string, timeoutMs?: number): Promise<void>;
  /** An instant query's single number; undefined without data (or with several series). */
  value(query: string, at?: Date): Promise<number | undefined>;
  /** A range query's single series as [ms since epoch, value] pairs. */
  range(query: string, from: Date, to: Date, stepMs: number): Promise<Array<[number, number]>>;
  stop(): Promise<void>;
}

/** How often a port another process took between freePort() and Prometheus binding it is tried again. */
const START_ATTEMPTS = 3;

function configText(options: PrometheusOptions): string {
  const rules = options.rules === undefined ? '' : 'rule_files:\n  - rules.yml\n';
  return `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n${rules}scrape_configs:\n  - job_name: ${options.job ?? 'app'}\n    static_configs:\n      - targets: ${JSON.stringify(options.targets)}\n`;
}

interface Answer {
  status: string;
  error?: string;
  data?: { resultType: string; result: Array<{ value?: [number, string]; values?: Array<[number, string]> }> };
}

async function ask(url: string, path: string, params: Record<string, string>): Promise<Answer> {
  const response = await fetch(`${url}${path}?${new URLSearchParams(params)}`);
  const answer = (await response.json()) as Answer;
  if (answer.status !== 'success') throw new Error(`prometheus ${path} ${params.query}: ${answer.error ?? `HTTP ${response.status}`}`);
  return answer;
}

async function spawnOnFreePort(options: PrometheusOptions, logFile: string): Promise<{ child: ChildProcess; url: string }> {
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(options.binary, [
      `--config.file=${join(options.dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(options.dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(logFile, { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    try {
      await waitFor(async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited at start-up (exit ${child.exitCode}); see ${logFile}`);
        return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok === true;
      }, 20_000, `prometheus did not become ready on ${url}; see ${logFile}`);
      return { child, url };
    } catch (error) {
      await stopChild(child);
      if (attempt >= START_ATTEMPTS) throw error;
    }
  }
}

/** Starts Prometheus in `options.dir` on a free port; ready to answer, though the first scrape lands a few seconds later. */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  await rm(join(options.dir, 'data'), { recursive: true, force: true });
  await mkdir(options.dir, { recursive: true });
  await writeFile(join(options.dir, 'prometheus.yml'), configText(options));
  if (options.rules !== undefined) await writeFile(join(options.dir, 'rules.yml'), options.rules);
  const { child, url } = await spawnOnFreePort(options, join(options.dir, 'prometheus.log'));
  const value = async (query: string, at?: Date) => {
    const params: Record<string, string> = { query };
    if (at) params.time = String(at.getTime() / 1000);
    const result = (await ask(url, '/api/v1/query', params)).data?.result ?? [];
    const sample = result.length === 1 ? result[0]?.value : undefined;
    return sample === undefined ? undefined : Number(sample[1]);
  };
  return {
    url,
    waitForData: (query, timeoutMs = 20_000) => waitFor(
      async () => ((await ask(url, '/api/v1/query', { query }).catch(() => undefined))?.data?.result.length ?? 0) > 0,
      timeoutMs,
      `prometheus returned no data for ${query} within ${timeoutMs / 1000}s`,
    ),
    value,
    async range(query, from, to, stepMs) {
      const params = { query, start: String(from.getTime() / 1000), end: String(to.getTime() / 1000), step: String(stepMs / 1000) };
      const result = (await ask(url, '/api/v1/query_range', params)).data?.result ?? [];
      if (result.length !== 1) return [];
      return (result[0]?.values ?? []).map(([at, text]) => [Math.round(at * 1000), Number(text)]);
    },
    stop: () => stopChild(child),
  };
}
