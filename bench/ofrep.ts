/**
 * OFREP single evaluations through golive's HTTP server against a raw node `http` server that
 * answers the same JSON from memory, under the same load from a process of its own
 * (bench/ofrep-load.ts), over keep-alive connections, BENCH_SECONDS per figure, BENCH_RUNS rounds
 * with golive and raw one after the other, each figure the median of its rounds (this machine is
 * shared: one busy moment should not make a figure):
 * - throughput: CONCURRENCY requests in flight, each sent when the last answer is in;
 * - latency at the target: TARGET.perSecond requests a second on a fixed schedule, timed from
 *   when each was due. (At 32 in flight, latency is 32 / throughput by Little's law, whatever
 *   the server; the target's p99 is measured where it means something: at the target's rate.)
 * golive's figures include its whole path: fastify, the flag-read key check (cached), the flag
 * from memory, the sha256 bucket. Target: 5,000 evaluations/s with p99 under 5 ms.
 */
import { fork } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { startFlagCache } from '../runtime/flag-cache.ts';
import { createLogger } from '../runtime/logger.ts';
import { createRoleDirectory } from '../runtime/roles.ts';
import { startHttpServer } from '../server/http.ts';
import { ensureDatabase, startPostgres } from '../stack/postgres.ts';
import { loadToolchain, requireTool } from '../stack/toolchain.ts';
import { createFlagStore } from '../store/flags.ts';
import { createPgIdentityStore } from '../store/identity.ts';
import { migrate } from '../store/migrate.ts';
import { createPgProtectionStore } from '../store/protection.ts';
import { createPgRunStore } from '../store/runs.ts';
import type { LoadRequest, LoadResult } from './ofrep-load.ts';
import { ms, percentile } from './stats.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_RUNS ?? 3);
const WARM_UP_SECONDS = 2;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
/** Connections for the scheduled load: enough that a request never waits for a free one at the target rate. */
const SCHEDULED_CONNECTIONS = 64;
const TARGET = { perSecond: 5_000, p99Ms: 5 };
const FLAG = 'new-checkout';
const BODY = JSON.stringify({ context: { targetingKey: 'user-42', plan: 'pro' } });

/** Runs the load in its own process and returns its figures. */
function load(request: LoadRequest): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL('./ofrep-load.ts', import.meta.url), [], { execArgv: ['--import', 'tsx'] });
    child.once('message', (result: LoadResult) => resolve(result));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`the load process exited with ${code}`))));
    child.send(request);
  });
}

/** The raw tool: node's http server reading the body and answering a fixed JSON, nothing else. */
async function startRawServer(answer: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(answer) });
      response.end(answer);
    });
  });
  // As long as fastify keeps an idle keep-alive connection open: the scheduled load leaves some idle for seconds.
  server.keepAliveTimeout = 72_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function line(label: string, result: LoadResult): string {
  const figures = `${result.perSecond.toFixed(0).padStart(7)}/s   p50 ${ms(result.p50Ms).padStart(8)}   p99 ${ms(result.p99Ms).padStart(8)}`;
  return `  ${label.padEnd(36)}${figures}   ${result.requests} requests, ${result.errors} errors`;
}

type Server = 'golive' | 'raw';
type Figures = Record<'throughput' | 'scheduled', LoadResult>;

/** Each figure's median over the rounds; requests and errors summed. */
function median(results: LoadResult[]): LoadResult {
  const of = (pick: (result: LoadResult) => number) => percentile(results.map(pick), 0.5);
  const sum = (pick: (result: LoadResult) => number) => results.reduce((total, result) => total + pick(result), 0);
  return { requests: sum((result) => result.requests), errors: sum((result) => result.errors), perSecond: of((result) => result.perSecond), p50Ms: of((result) => result.p50Ms), p99Ms: of((result) => result.p99Ms) };
}

/** Both loads against both servers, round after round, golive and raw back to back so both meet the machine alike. */
async function measure(requests: Record<Server, Omit<LoadRequest, 'seconds' | 'concurrency'>>): Promise<Record<Server, Figures>> {
  const closed = (server: Server) => ({ ...requests[server], concurrency: CONCURRENCY, seconds: SECONDS });
  const open = (server: Server) => ({ ...requests[server], concurrency: SCHEDULED_CONNECTIONS, rate: TARGET.perSecond, seconds: SECONDS });
  const results = { golive: { throughput: [] as LoadResult[], scheduled: [] as LoadResult[] }, raw: { throughput: [] as LoadResult[], scheduled: [] as LoadResult[] } };
  for (const server of ['golive', 'raw'] as const) await load({ ...closed(server), seconds: WARM_UP_SECONDS });
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const server of ['golive', 'raw'] as const) results[server].throughput.push(await load(closed(server)));
    for (const server of ['golive', 'raw'] as const) results[server].scheduled.push(await load(open(server)));
  }
  const figures = (server: Server) => ({ throughput: median(results[server].throughput), scheduled: median(results[server].scheduled) });
  return { golive: figures('golive'), raw: figures('raw') };
}

function report({ golive, raw }: Record<Server, Figures>): void {
  console.log(`OFREP single evaluations, load from another process over keep-alive connections; median of ${ROUNDS} rounds of ${SECONDS} s:`);
  console.log(line(`golive, ${CONCURRENCY} in flight`, golive.throughput));
  console.log(line(`raw node http, ${CONCURRENCY} in flight`, raw.throughput));
  console.log(line(`golive, ${TARGET.perSecond}/s on schedule`, golive.scheduled));
  console.log(line(`raw node http, ${TARGET.perSecond}/s on schedule`, raw.scheduled));
  const ratio = golive.throughput.perSecond / raw.throughput.perSecond;
  console.log(`  golive / raw: ${ratio.toFixed(2)}× the throughput; ${(golive.scheduled.p99Ms / raw.scheduled.p99Ms).toFixed(2)}× the p99 at ${TARGET.perSecond}/s`);
  const { scheduled } = golive;
  const met = golive.throughput.perSecond >= TARGET.perSecond && scheduled.p99Ms < TARGET.p99Ms && scheduled.errors === 0 && golive.throughput.errors === 0;
  console.log(`  target >= ${TARGET.perSecond}/s, p99 < ${TARGET.p99Ms} ms at that rate: ${met ? 'met' : 'MISSED'}`);
}

export async function benchOfrep(): Promise<void> {
  const pgBin = requireTool(loadToolchain(), 'pgBin');
  const scratch = await mkdtemp(join(tmpdir(), 'golive-bench-ofrep-'));
  await chmod(scratch, 0o755);
  const cluster = await startPostgres({ pgBin, dataDir: join(scratch, 'pg') });
  const pool = new pg.Pool({ connectionString: await ensureDatabase(cluster.url, 'golive') });
  try {
    await migrate(pool);
    const flags = createFlagStore(pool);
    await flags.set({ key: FLAG, environment: 'production', percent: 50, actor: 'bench', channel: 'cli' });
    const { secret } = await flags.createKey({ name: 'bench', environment: 'production' }, { name: 'bench', channel: 'cli' });
    const flagCache = await startFlagCache(pool);
    const identity = createPgIdentityStore(pool);
    // OFREP never touches Temporal: a lazy connection that is never opened.
    const server = await startHttpServer({
      store: createPgRunStore(pool), protection: createPgProtectionStore(pool), identity, roles: createRoleDirectory({}), runbooksDir: scratch,
      client: new Client({ connection: Connection.lazy({ address: '127.0.0.1:7233' }) }), pool, taskQueue: 'bench-ofrep', flags, flagCache,
    }, { host: '127.0.0.1', port: 0, logger: createLogger('silent', 'golive-bench') });
    const headers = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' };
    const request = { url: `${server.url}/ofrep/v1/evaluate/flags/${FLAG}`, body: BODY, headers };
    const answer = await (await fetch(request.url, { method: 'POST', headers, body: BODY })).text();
    const raw = await startRawServer(answer);
    try {
      report(await measure({ golive: request, raw: { ...request, url: `${raw.url}/ofrep/v1/evaluate/flags/${FLAG}` } }));
      console.log(`  the answer both give: ${answer}`);
    } finally {
      await raw.close();
      await server.close();
      await flagCache.close();
    }
  } finally {
    await pool.end();
    await cluster.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}
