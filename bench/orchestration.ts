/**
 * Orchestration overhead per runbook step, on a real Temporal dev server and a real Postgres:
 * a 20-step runbook of no-op actions through golive's engine (its audit trail projected to
 * Postgres in the background), against the raw baseline of the same no-op activity called 20
 * times in a plain workflow.
 */
import type { Client } from '@temporalio/client';
import { RunbookSchema } from '../definitions/schema.ts';
import { RUNBOOK_WORKFLOW, type RunbookRunInput } from '../workflows/definitions.ts';
import { withBenchStack } from './stack.ts';
import { gaps, ms, percentile } from './stats.ts';

const STEPS = 20;
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const WARMUP = 2;

const runbook = RunbookSchema.parse({
  apiVersion: 'golive/v1',
  kind: 'Runbook',
  metadata: { name: 'bench-noop', service: 'bench' },
  spec: {
    strategy: 'backup-restore',
    objectives: { rpo: '1h', rto: '1h' },
    steps: Array.from({ length: STEPS }, (_, index) => ({ id: `step-${index + 1}`, action: 'noop' })),
  },
});

/**
 * Per-step cost of one run, by the server's clock: the time between consecutive activity
 * completions in the workflow's history. For golive this takes in everything between two steps
 * (the audit projection, the next step's set-up); workflow time cannot, as it stands still within a task.
 */
async function stepIntervals(client: Client, workflowId: string): Promise<number[]> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const completions = events
    .filter((event) => event.activityTaskCompletedEventAttributes)
    .map((event) => Number(event.eventTime?.seconds ?? 0) * 1_000 + Math.round((event.eventTime?.nanos ?? 0) / 1e6));
  return gaps(completions);
}

export async function benchOrchestration(): Promise<void> {
  await withBenchStack(async ({ client, taskQueue }) => {
    const golive: number[] = [];
    const raw: number[] = [];
    const goliveWall: number[] = [];
    const rawWall: number[] = [];
    for (let run = 0; run < WARMUP + RUNS; run += 1) {
      const input: RunbookRunInput = { runbook, requestedBy: 'bench', channel: 'cli' };
      const [goliveId, rawId] = [`golive-${run}-${Date.now()}`, `raw-${run}-${Date.now()}`];
      let started = performance.now();
      await client.workflow.execute(RUNBOOK_WORKFLOW, { workflowId: goliveId, taskQueue, args: [input] });
      const goliveMs = performance.now() - started;
      started = performance.now();
      await client.workflow.execute('rawActivitiesWorkflow', { workflowId: rawId, taskQueue, args: [STEPS] });
      const rawMs = performance.now() - started;
      if (run < WARMUP) continue;
      golive.push(...(await stepIntervals(client, goliveId)));
      raw.push(...(await stepIntervals(client, rawId)));
      goliveWall.push(goliveMs);
      rawWall.push(rawMs);
    }
    const [goliveMedian, rawMedian] = [percentile(golive, 0.5), percentile(raw, 0.5)];
    console.log(`orchestration: ${RUNS} runs x ${STEPS} no-op steps on the Temporal dev server (after ${WARMUP} warm-up runs)`);
    console.log(`  golive per step   median ${ms(goliveMedian)}  p95 ${ms(percentile(golive, 0.95))}  (activity; the audit trail is written beside it, not waited for)`);
    console.log(`  raw Temporal step median ${ms(rawMedian)}  p95 ${ms(percentile(raw, 0.95))}  (the same activity, nothing else)`);
    console.log(`  golive overhead per step: median ${ms(goliveMedian - rawMedian)}; ratio golive/raw ${(goliveMedian / rawMedian).toFixed(2)}`);
    const [goliveRun, rawRun] = [percentile(goliveWall, 0.5), percentile(rawWall, 0.5)];
    console.log(`  whole run wall time median: golive ${ms(goliveRun)}, raw ${ms(rawRun)}; ${ms((goliveRun - rawRun) / STEPS)} more per step; ratio ${(goliveRun / rawRun).toFixed(3)}`);
  });
}
