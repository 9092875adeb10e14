import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installHeartbeat, runHeartbeat } from '../../runtime/heartbeat.ts';
import type { Runbook } from '../../definitions/schema.ts';
import { startProtectionRun } from '../../runtime/protection.ts';
import { sendControl, waitForState } from '../../runtime/runs.ts';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import { createPgProtectionStore } from '../../store/protection.ts';
import { createEngineHarness, type EngineHarness } from '../support/engine.ts';
import { createDrSource, drRunbook, runProtection, scratchDatabases, startDrWorker, type DrSource } from '../support/protection.ts';
import { until } from '../support/poll.ts';
import { runSql } from '../support/sql.ts';

const ORDERS = 120_000;
let harness: EngineHarness;
let source: DrSource;

beforeAll(async () => {
  harness = await createEngineHarness('drill');
  source = await createDrSource('drill_source', ORDERS);
  await startDrWorker(harness, source.env);
});

afterAll(async () => {
  await harness?.close();
  await source?.drop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const drillOf = (runId: string) => createPgProtectionStore(harness.pool).getDrill(runId);

/** Takes a backup; returns the files it wrote in the backup folder. */
async function takeBackup(runbook: Runbook): Promise<{ dump: string; manifest: string }> {
  const { state } = await runProtection(harness, 'backup', runbook);
  const { backupId } = state.steps[0]?.result as { backupId: string };
  const folder = join(source.backupDir, runbook.metadata.service);
  return { dump: join(folder, `${backupId}.dump`), manifest: join(folder, `${backupId}.manifest.json`) };
}

describe('restore-verification drill', () => {
  it('backs up 120,000 orders, restores them into a scratch database, verifies them and measures RPO and RTO', async () => {
    const runbook = drRunbook('orders-drill', { expectOrders: ORDERS });
    const backup = await runProtection(harness, 'backup', runbook);
    expect(backup.state.status).toBe('succeeded');
    const taken = backup.state.steps[0]?.result as { rows: number; tables: number };
    expect(taken.rows).toBeGreaterThanOrEqual(ORDERS);

    const { drill, state } = await runProtection(harness, 'drill', runbook);
    expect(state.status, state.reason).toBe('succeeded');
    expect(drill?.status).toBe('passed');
    expect(drill?.backup?.backupId).toBe(taken && (backup.state.steps[0]?.result as { backupId: string }).backupId);
    expect(drill?.measured.rpoSource).toBe('snapshot');
    const expectedRpo = Date.parse(drill!.declaredAt) - Date.parse(drill!.backup!.snapshotAt);
    expect(Math.abs(drill!.measured.rpoMs! - expectedRpo)).toBeLessThan(5);
    expect(drill!.measured.rtoMs).toBe(Date.parse(drill!.recoveredAt!) - Date.parse(drill!.declaredAt));
    expect(drill!.steps.map((step) => [step.id, step.status])).toEqual(expect.arrayContaining([
      ['verify-checksum', 'succeeded'], ['restore-backup', 'succeeded'], ['verify-restored-data', 'succeeded'],
      ['smoke-orders-present', 'succeeded'], ['health-check', 'succeeded'], ['drop-scratch-database', 'succeeded'],
    ]));
    expect(await scratchDatabases('orders-drill')).toEqual([]);
  });

  it('fails a corrupted backup at the checksum step and creates no scratch database', async () => {
    const runbook = drRunbook('orders-drill', { expectOrders: ORDERS });
    const { dump } = await takeBackup(runbook);
    const bytes = await readFile(dump);
    const original = Buffer.from(bytes);
    const middle = Math.floor(bytes.length / 2);
    bytes.writeUInt8(bytes.readUInt8(middle) ^ 0xff, middle);
    await writeFile(dump, bytes);
    try {
      const { drill } = await runProtection(harness, 'drill', runbook);
      expect(drill?.status).toBe('failed');
      expect(drill?.reason).toMatch(/^step verify-checksum failed: .*sha256/);
      expect(drill?.steps.find((step) => step.id === 'restore-backup')?.status).toBe('pending');
      expect(await scratchDatabases('orders-drill')).toEqual([]);
    } finally {
      await writeFile(dump, original);
    }
  });

  it('fails verification naming a table the backup lacks', async () => {
    const runbook = drRunbook('orders-drill', { expectOrders: ORDERS });
    const { dump, manifest } = await takeBackup(runbook);
    const pgDump = join(requireTool(loadToolchain({ pgBin: process.env.GOLIVE_PG_BIN }), 'pgBin'), 'pg_dump');
    await promisify(execFile)(pgDump, ['--format=custom', '--exclude-table=audit_log', `--file=${dump}`, source.url]);
    const rewritten = await readFile(dump);
    const entry = JSON.parse(await readFile(manifest, 'utf8')) as Record<string, unknown>;
    await writeFile(manifest, JSON.stringify({ ...entry, bytes: rewritten.length, sha256: createHash('sha256').update(rewritten).digest('hex') }));

    const { drill } = await runProtection(harness, 'drill', runbook);
    expect(drill?.status).toBe('failed');
    expect(drill?.reason).toMatch(/step verify-restored-data failed: .*audit_log.*missing/);
    expect(await scratchDatabases('orders-drill')).toEqual([]);
  });

  it('fails a drill whose measured RPO exceeds the objective, with both numbers', async () => {
    const runbook = drRunbook('orders-drill', { expectOrders: ORDERS, objectives: { rpo: '2s', rto: '1h' } });
    await runProtection(harness, 'backup', runbook);
    await sleep(2_500);
    const { drill, state } = await runProtection(harness, 'drill', runbook);
    expect(drill?.status).toBe('failed');
    expect(drill?.reason).toMatch(/^measured RPO \d+\.\ds exceeds objective 2s$/);
    expect(drill!.measured.rpoMs).toBeGreaterThan(2_000);
    expect(state.steps.every((step) => step.status === 'succeeded')).toBe(true);
    expect(await scratchDatabases('orders-drill')).toEqual([]);
  });

  it('takes a fresh backup first when asked, and measures RPO from it', async () => {
    const runbook = drRunbook('orders-drill', { expectOrders: ORDERS });
    const { drill } = await runProtection(harness, 'drill', runbook, { freshBackup: true });
    expect(drill?.status, drill?.reason).toBe('passed');
    expect(drill!.steps.slice(0, 2).map((step) => step.id)).toEqual(['take-backup', 'declare-disaster']);
    expect(drill!.measured.rpoMs).toBeLessThan(5_000);
  });
});

describe('a drill that does not run to the end', () => {
  it('fails when a skipped step leaves RTO unmeasured: measured, not assumed', async () => {
    const runbook = drRunbook('orders-drill', { expectOrders: ORDERS });
    await takeBackup(runbook);
    const runId = await startProtectionRun(harness.client, { kind: 'drill', runbook, requestedBy: 'sre', taskQueue: harness.taskQueue, source: 'test' });
    await sendControl(harness, runId, 'skip', { actor: 'sre', stepId: 'health-check', comment: 'health endpoint is down' });
    await harness.client.workflow.getHandle(runId).result().catch(() => undefined);
    const drill = await drillOf(runId);
    expect(drill).toMatchObject({ status: 'failed', reason: 'RTO not measured: step health-check was skipped' });
    expect(drill?.measured.rtoMs).toBeUndefined();
    expect(await scratchDatabases('orders-drill')).toEqual([]);
  });

  it('is recorded, and its scratch database dropped, when the workflow is cancelled mid-restore', async () => {
    const runbook = drRunbook('orders-drill', { expectOrders: ORDERS });
    await takeBackup(runbook);
    const runId = await startProtectionRun(harness.client, { kind: 'drill', runbook, requestedBy: 'sre', taskQueue: harness.taskQueue, source: 'test' });
    await waitForState(harness.client, runId, (state) => state.currentStep === 'restore-backup');
    await harness.client.workflow.getHandle(runId).cancel();
    const drill = await until(() => drillOf(runId), 30_000, 'the cancelled drill was not recorded');
    expect(drill).toMatchObject({ status: 'failed', reason: 'aborted by temporal: the workflow was cancelled' });
    expect(drill.steps.find((step) => step.id === 'drop-scratch-database-after-failure')?.status).toBe('succeeded');
    expect(await scratchDatabases('orders-drill')).toEqual([]);
  });
});

describe('measured RPO with a heartbeat table', () => {
  it('agrees with the heartbeat ground truth within a second', async () => {
    const runbook = drRunbook('orders-drill', { expectOrders: ORDERS });
    await installHeartbeat(source.url);
    const stop = new AbortController();
    const beating = runHeartbeat(source.url, { intervalMs: 1_000, signal: stop.signal });
    try {
      await sleep(2_500);
      const newest = async () => (await runSql<{ newest: Date }>(source.url, 'SELECT max(beat_at) AS newest FROM golive_heartbeat')).rows[0]!.newest;
      const before = await newest();
      await runProtection(harness, 'backup', runbook);
      const after = await newest();
      await sleep(3_000);
      const { drill } = await runProtection(harness, 'drill', runbook);
      expect(drill?.status, drill?.reason).toBe('passed');
      expect(drill!.measured.rpoSource).toBe('heartbeat');
      const newestCommit = Date.parse(drill!.measured.newestCommit!);
      expect(newestCommit).toBeGreaterThanOrEqual(before.getTime());
      expect(newestCommit).toBeLessThanOrEqual(after.getTime());
      const truth = Date.parse(drill!.declaredAt) - before.getTime();
      expect(Math.abs(drill!.measured.rpoMs! - truth)).toBeLessThanOrEqual(1_000);
      expect(drill!.measured.rpoMs).toBeGreaterThan(3_000);
    } finally {
      stop.abort();
      await beating;
    }
  });
});
