/**
 * Failover RTO through golive against the same failover by hand, on the local failover stage
 * (runtime/failover-stage.ts: a primary and a streaming standby Postgres, an app server on each,
 * nginx in front). Each round starts a fresh stage, lets the writer place orders for a second,
 * kills the primary, then fails over:
 * - golive: the failover workflow with runbooks/orders-failover-demo.yaml minus its approval
 *   gate, requested by an incident commander; its RTO is the record's (T_d → first healthy
 *   answer from site-b through the edge), and also from the start request;
 * - by hand (bench/failover-raw.ts): the same commands with no golive, timed from their start
 *   to the first healthy answer.
 * The overhead is golive's median minus the median by hand (target: at most 0.5 s).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRunbook } from '../definitions/load.ts';
import type { RoleMap } from '../definitions/roles.ts';
import type { Runbook } from '../definitions/schema.ts';
import { startFailoverStage, type FailoverStage, type RowsLost } from '../runtime/failover-stage.ts';
import { startFailover } from '../runtime/failovers.ts';
import { createRoleDirectory } from '../runtime/roles.ts';
import { loadToolchain, requireTool } from '../stack/toolchain.ts';
import type { FailoverRecord } from '../workflows/definitions.ts';
import type { failoverWorkflow } from '../workflows/failover.ts';
import { failOverByHand } from './failover-raw.ts';
import { withBenchStack, type BenchStack } from './stack.ts';
import { ms, percentile } from './stats.ts';

const ROUNDS = Number(process.env.BENCH_RUNS ?? 5);
const WRITES_MS = 1_000;
const TARGET_OVERHEAD_MS = 500;
const RUNBOOK_FILE = fileURLToPath(new URL('../runbooks/orders-failover-demo.yaml', import.meta.url));
const COMMANDER = 'ivan';
const ROLES: RoleMap = { [COMMANDER]: ['incident-commander'] };

interface Round {
  rtoMs: number;
  lost: RowsLost;
}

interface GoliveRound extends Round {
  /** From the start request to the first healthy answer: the record's RTO plus the time to T_d. */
  fromRequestMs: number;
  record: FailoverRecord;
}

/** The demo's runbook without its approval gate: nobody waits at a gate in a benchmark. */
async function ungatedRunbook(): Promise<Runbook> {
  const runbook = await loadRunbook(RUNBOOK_FILE);
  return { ...runbook, spec: { ...runbook.spec, steps: runbook.spec.steps.filter((step) => step.kind !== 'approval') } };
}

/** A fresh stage with a second of orders written and its primary killed; stopped after `work`. */
async function onKilledStage<T>(stack: BenchStack, nginxBin: string, work: (stage: FailoverStage) => Promise<T>): Promise<T> {
  const stage = await startFailoverStage({ home: join(stack.scratch, 'failover'), pgBin: stack.pgBin, nginxBin });
  try {
    Object.assign(stack.env, stage.env);
    await delay(WRITES_MS);
    await stage.killPrimary();
    return await work(stage);
  } finally {
    await stage.stop();
  }
}

async function goliveRound(stack: BenchStack, nginxBin: string, runbook: Runbook): Promise<GoliveRound> {
  const roles = createRoleDirectory(ROLES);
  return onKilledStage(stack, nginxBin, async (stage) => {
    const requestedAt = Date.now();
    const runId = await startFailover(stack.client, roles, {
      runbook,
      requestedBy: COMMANDER,
      channel: 'cli',
      taskQueue: stack.taskQueue,
      reason: 'benchmark: the primary was killed',
      source: RUNBOOK_FILE,
    });
    const record = await stack.client.workflow.getHandle<typeof failoverWorkflow>(runId).result();
    const { rtoMs } = record.measured;
    if (record.status !== 'succeeded' || rtoMs === undefined || record.recoveredAt === undefined) {
      throw new Error(`failover ${runId} ended ${record.status} without a measured RTO: ${record.outcome ?? 'no outcome recorded'}`);
    }
    const lost = await stage.rowsLost(await stage.writer.stop(), new Date(record.declaredAt));
    return { rtoMs, fromRequestMs: Date.parse(record.recoveredAt) - requestedAt, lost, record };
  });
}

async function rawRound(stack: BenchStack, nginxBin: string): Promise<Round> {
  return onKilledStage(stack, nginxBin, async (stage) => {
    const startedAt = Date.now();
    const healthyAt = await failOverByHand(stage, nginxBin);
    const lost = await stage.rowsLost(await stage.writer.stop(), new Date(startedAt));
    return { rtoMs: healthyAt - startedAt, lost };
  });
}

const rounds = (values: readonly number[]) => values.map((value) => value.toFixed(0)).join(', ');

function rtoLine(label: string, values: readonly number[]): string {
  return `  ${label.padEnd(34)}median ${ms(percentile(values, 0.5)).padStart(10)}   rounds (ms): ${rounds(values)}`;
}

function overheadLine(label: string, golive: readonly number[], raw: readonly number[]): string {
  const [mine, theirs] = [percentile(golive, 0.5), percentile(raw, 0.5)];
  const overhead = mine - theirs;
  const verdict = overhead <= TARGET_OVERHEAD_MS ? 'met' : 'MISSED';
  return `  overhead ${label.padEnd(25)}${ms(overhead).padStart(17)}   ratio ${(mine / theirs).toFixed(2)}   (target <= ${TARGET_OVERHEAD_MS} ms: ${verdict})`;
}

const lostLine = (round: Round) => `${round.lost.lost.length}/${round.lost.committedBeforeTd}`;

/** Where golive's time went in one round: each step's duration, from its record. */
function stepsLine(record: FailoverRecord): string {
  const steps = record.steps.map((step) => {
    const took = step.startedAt && step.finishedAt ? `${Date.parse(step.finishedAt) - Date.parse(step.startedAt)} ms` : step.status;
    return `${step.id} ${took}`;
  });
  return `  golive's steps in its median round: ${steps.join(', ')}`;
}

export async function benchFailover(): Promise<void> {
  const nginxBin = requireTool(loadToolchain(), 'nginx');
  const runbook = await ungatedRunbook();
  await withBenchStack(async (stack) => {
    const golive: GoliveRound[] = [];
    const raw: Round[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      golive.push(await goliveRound(stack, nginxBin, runbook));
      raw.push(await rawRound(stack, nginxBin));
    }
    const [goliveRto, goliveFromRequest, rawRto] = [golive.map((one) => one.rtoMs), golive.map((one) => one.fromRequestMs), raw.map((one) => one.rtoMs)];
    console.log(`failover of the local stage, primary killed after ${WRITES_MS / 1000} s of writes; ${ROUNDS} rounds each, a fresh stage every round:`);
    console.log(rtoLine('golive RTO (its record: T_d →)', goliveRto));
    console.log(rtoLine('golive RTO from the start request', goliveFromRequest));
    console.log(rtoLine('by hand, the same commands', rawRto));
    console.log(overheadLine('(record)', goliveRto, rawRto));
    console.log(overheadLine('(from the request)', goliveFromRequest, rawRto));
    console.log(`  orders lost (lost/acknowledged before T_d): golive ${golive.map(lostLine).join(', ')}; by hand ${raw.map(lostLine).join(', ')}`);
    const median = [...golive].sort((left, right) => left.rtoMs - right.rtoMs)[Math.floor((golive.length - 1) / 2)];
    if (median) console.log(stepsLine(median.record));
  }, { roles: ROLES, nginxBin });
}
