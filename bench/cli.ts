/**
 * CLI start-up: `golive --version` and `golive status RUN` as a user runs them (the compiled
 * command, against a `golive dev` stack of their own), against a bare `node -e ''`. The same
 * calls `status` makes, timed inside one warm process, are subtracted to give golive's own
 * start-up: the part of the wait that is not the network.
 */
import { execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from '../config/env.ts';
import { createPool } from '../runtime/connections.ts';
import { readRunState } from '../runtime/run-state.ts';
import { connectTemporalReads } from '../runtime/temporal-reads.ts';
import { createPgRunStore } from '../store/runs.ts';
import { stateQuery, type RunState } from '../workflows/definitions.ts';
import { ms, percentile } from './stats.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const BIN = fileURLToPath(new URL('../bin/golive.mjs', import.meta.url));
const run = promisify(execFile);

const GATE = `apiVersion: golive/v1
kind: Runbook
metadata: { name: bench-cli, service: bench }
spec:
  strategy: warm-standby
  objectives: { rpo: 1m, rto: 30m }
  steps:
    - { id: before, action: noop }
    - id: approve
      approval: { approvers: [incident-commander], timeout: 1h, message: "benchmark gate" }
`;

/** Wall time of `argv` in ms, RUNS times after one warm-up. */
async function wall(argv: string[], env: NodeJS.ProcessEnv): Promise<number[]> {
  const times: number[] = [];
  for (let index = 0; index <= RUNS; index += 1) {
    const started = performance.now();
    await run(process.execPath, argv, { env });
    if (index > 0) times.push(performance.now() - started);
  }
  return times;
}

async function inProcess(work: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let index = 0; index <= RUNS; index += 1) {
    const started = performance.now();
    await work();
    if (index > 0) times.push(performance.now() - started);
  }
  return times;
}

/** Starts `golive dev` in a scratch home and resolves when its stack file is written. */
async function startDev(env: NodeJS.ProcessEnv, home: string): Promise<() => Promise<void>> {
  const child = spawn(process.execPath, [BIN, 'dev'], { env, stdio: 'ignore' });
  const deadline = Date.now() + 120_000;
  for (;;) {
    const stack = await readFile(join(home, 'stack.json'), 'utf8').catch(() => undefined);
    if (stack) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`golive dev did not come up (exit ${child.exitCode})`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return () => new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGINT');
  });
}

const line = (name: string, times: number[], base?: number) =>
  `  ${name.padEnd(34)} p50 ${ms(percentile(times, 0.5)).padStart(9)}  p90 ${ms(percentile(times, 0.9)).padStart(9)}${base === undefined ? '' : `  (${(percentile(times, 0.5) / base).toFixed(2)}x node)`}`;

export async function benchCli(): Promise<void> {
  const home = await mkdtemp(join(tmpdir(), 'golive-bench-cli-'));
  await chmod(home, 0o755);
  const env: NodeJS.ProcessEnv = { ...process.env, GOLIVE_HOME: home, GOLIVE_HTTP_PORT: '0', GOLIVE_LOG_LEVEL: 'warn', GOLIVE_ROLES: 'bench=release-manager' };
  delete env.TEMPORAL_ADDRESS;
  delete env.DATABASE_URL;
  const stopDev = await startDev(env, home);
  try {
    await writeFile(join(home, 'gate.yaml'), GATE);
    const runId = (await run(process.execPath, [BIN, 'run', join(home, 'gate.yaml'), '--as', 'bench', '--detach'], { env })).stdout.trim();
    const node = await wall(['-e', ''], env);
    const version = await wall([BIN, '--version'], env);
    const status = await wall([BIN, 'status', runId], env);
    const help = await wall([BIN, 'validate', '--help'], env);

    const stack = JSON.parse(await readFile(join(home, 'stack.json'), 'utf8')) as { temporalAddress: string; databaseUrl: string };
    // What `status` does once loaded: a new gRPC channel and a new Postgres connection, the record, the query.
    const calls = await inProcess(async () => {
      const reads = connectTemporalReads(loadConfig(), stack.temporalAddress);
      const pool = createPool(stack.databaseUrl);
      await readRunState(createPgRunStore(pool), runId, (id) => reads.query<RunState>(id, stateQuery.name));
      reads.close();
      await pool.end();
    });

    const base = percentile(node, 0.5);
    const startUp = percentile(status, 0.5) - percentile(calls, 0.5);
    console.log(`\nCLI start-up (${RUNS} runs each, wall time of a new process)`);
    console.log(line("node -e ''", node));
    console.log(line('golive validate --help', help, base));
    console.log(line('golive --version (asks the stack)', version, base));
    console.log(line('golive status RUN (waiting gate)', status, base));
    console.log(line('  its connections and calls alone', calls));
    console.log(`  golive status start-up, without its calls: ${ms(startUp)} (${ms(startUp - base)} more than a bare node)`);
  } finally {
    await stopDev();
    await rm(home, { recursive: true, force: true });
  }
}
