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
    // RPO on the source's clock, read by the declare step; both clocks are this machine's here.
    expect(drill?.measured).toMatchObject({ rpoSource: 'snapshot', rpoClock: 'source', pausedMs: 0, notes: [] });
    expect(Math.abs(drill!.measured.skewMs!)).toBeLessThan(50);
    expect(Date.parse(drill!.measured.declaredAtSource!) - Date.parse(drill!.declaredAt)).toBe(drill!.measured.skewMs);
    const expectedRpo = Date.parse(drill!.measured.declaredAtSource!) - Date.parse(drill!.backup!.snapshotAt);
    expect(Math.abs(drill!.measured.rpoMs! - expectedRpo)).toBeLessThan(5);
    // RTO is the time to a usable copy: it stops before golive's own checks run.
    expect(drill!.measured.rtoMs).toBe(Date.parse(drill!.recoveredAt!) - Date.parse(drill!.declaredAt));
    expect(drill!.steps.map((step) => [step.id, step.status])).toEqual([
      ['declare-disaster', 'succeeded'], ['find-backup', 'succeeded'], ['restore-backup', 'succeeded'], ['health-check', 'succeeded'],
      ['verify-checksum', 'succeeded'], ['verify-restored-data', 'succeeded'], ['smoke-orders-present', 'succeeded'],
      ['drop-scratch-database', 'succeeded'],
    ]);
    const checked = state.steps.find((step) => step.id === 'verify-checksum')!;
    expect(Date.parse(checked.startedAt!)).toBeGreaterThanOrEqual(Date.parse(drill!.recoveredAt!));
    expect(await scratchDatabases('orders-drill')).toEqual([]);
  });

  it('fails a backup pg_restore cannot read at the restore step, before any check, and leaves no scratch database', async () => {
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
      expect(drill?.reason).toMatch(/^step restore-backup failed: cannot restore backup .*pg_restore: error: could not uncompress data/);
      expect(drill?.measured.rtoMs).toBeUndefined();
      expect(drill?.steps.find((step) => step.id === 'verify-checksum')?.status).toBe('pending');
      expect(await scratchDatabases('orders-drill')).toEqual([]);
    } finally {
      await writeFile(dump, original);
    }
  });

  it('fails a backup whose checksum is wrong after the copy recovered: RTO is measured, the checksum gates the verdict', async () => {
    const runbook = drRunbook('orders-drill', { expectOrders: ORDERS });
    const { dump } = await takeBackup(runbook);
    const original = await readFile(dump);
    // Bytes after the end of the archive: pg_restore never reads them, the checksum does.
    await writeFile(dump, Buffer.concat([original, Buffer.from('tampered')]));
    try {
      const { drill } = await runProtection(harness, 'drill', runbook);
      expect(drill?.status).toBe('failed');
      expect(drill?.reason).toMatch(/^step verify-checksum failed: backup .* is corrupt: it has sha256 .* and \d+ bytes, its manifest says sha256/);
      expect(drill?.measured.rtoMs).toBeGreaterThan(0);
      expect(drill?.steps.slice(2, 5).map((step) => [step.id, step.status])).toEqual([['restore-backup', 'succeeded'], ['health-check', 'succeeded'], ['verify-checksum', 'failed']]);
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
    await sendControl(harness, runId, 'skip', { actor: 'sre', channel: 'cli', stepId: 'health-check', comment: 'health endpoint is down' });
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
      expect(drill!.measured).toMatchObject({ rpoSource: 'heartbeat', rpoClock: 'source', notes: [] });
      const newestCommit = Date.parse(drill!.measured.newestCommit!);
      expect(newestCommit).toBeGreaterThanOrEqual(before.getTime());
      expect(newestCommit).toBeLessThanOrEqual(after.getTime());
      expect(drill!.measured.newestHeartbeat).toBe(drill!.measured.newestCommit);
      const truth = Date.parse(drill!.measured.declaredAtSource!) - before.getTime();
      expect(Math.abs(drill!.measured.rpoMs! - truth)).toBeLessThanOrEqual(1_000);
      expect(drill!.measured.rpoMs).toBeGreaterThan(3_000);
    } finally {
      stop.abort();
      await beating;
    }
  });
});

describe('honest numbers when something around the drill is off', () => {
  it('takes time paused between T_d and recovery out of RTO and reports it apart', async () => {
    const runbook = drRunbook('orders-drill', { expectOrders: ORDERS });
    await takeBackup(runbook);
    const runId = await startProtectionRun(harness.client, { kind: 'drill', runbook, requestedBy: 'sre', taskQueue: harness.taskQueue, source: 'test' });
    await waitForState(harness.client, runId, (state) => state.steps[0]?.status === 'succeeded');
    await sendControl(harness, runId, 'pause', { actor: 'sre', channel: 'cli', comment: 'hold before recovery' });
    await waitForState(harness.client, runId, (state) => state.status === 'paused');
    await sleep(2_000);
    await sendControl(harness, runId, 'resume', { actor: 'sre', channel: 'cli' });
    await harness.client.workflow.getHandle(runId).result().catch(() => undefined);
    const drill = await drillOf(runId);
    expect(drill?.status, drill?.reason).toBe('passed');
    const { rtoMs, pausedMs } = drill!.measured;
    expect(pausedMs).toBeGreaterThanOrEqual(1_900);
    expect(rtoMs! + pausedMs!).toBe(Date.parse(drill!.recoveredAt!) - Date.parse(drill!.declaredAt));
    expect(rtoMs).toBeGreaterThan(0);
  });

  it('measures RPO from the snapshot, and says since when, when the heartbeat writer had stopped', async () => {
    const runbook = drRunbook('orders-drill', { expectOrders: ORDERS });
    await installHeartbeat(source.url);
    // The writer's last beats, two days old, and no writer since.
    await runSql(source.url, 'TRUNCATE golive_heartbeat');
    await runSql(source.url, `INSERT INTO golive_heartbeat (beat_at) SELECT now() - interval '2 days' - n * interval '1 second' FROM generate_series(0, 4) AS n`);
    const stoppedAt = (await runSql<{ newest: Date }>(source.url, 'SELECT max(beat_at) AS newest FROM golive_heartbeat')).rows[0]!.newest.toISOString();
    try {
      await runProtection(harness, 'backup', runbook);
      const { drill } = await runProtection(harness, 'drill', runbook);
      expect(drill?.status, drill?.reason).toBe('passed');
      expect(drill!.measured).toMatchObject({ rpoSource: 'snapshot', newestHeartbeat: stoppedAt, snapshotAt: drill!.backup!.snapshotAt, newestCommit: drill!.backup!.snapshotAt });
      expect(drill!.measured.rpoMs).toBeLessThan(60_000);
      expect(drill!.measured.notes).toEqual([expect.stringMatching(new RegExp(`^heartbeat writer stopped at ${stoppedAt.replace(/\./g, '\\.')}, 2d 0h before the backup's snapshot`))]);
    } finally {
      await runSql(source.url, 'DROP TABLE golive_heartbeat');
    }
  });

  it('passes on the worker clock, and says so, when the source database cannot be reached', async () => {
    const runbook = drRunbook('orders-drill', { expectOrders: ORDERS });
    await runProtection(harness, 'backup', runbook);
    const sourceDown: Runbook = { ...runbook, spec: { ...runbook.spec, targets: { ...runbook.spec.targets, source: { type: 'postgres', url: 'postgres://golive@127.0.0.1:1/orders' } } } };
    const { drill } = await runProtection(harness, 'drill', sourceDown);
    expect(drill?.status, drill?.reason).toBe('passed');
    expect(drill!.measured).toMatchObject({ rpoClock: 'worker', rpoSource: 'snapshot' });
    expect([drill!.measured.skewMs, drill!.measured.declaredAtSource]).toEqual([undefined, undefined]);
    expect(drill!.measured.notes).toEqual([expect.stringMatching(/^cannot read the clock of source source \(.*ECONNREFUSED.*\); T_d and RPO are on the worker clock$/)]);
    expect(Math.abs(drill!.measured.rpoMs! - (Date.parse(drill!.declaredAt) - Date.parse(drill!.backup!.snapshotAt)))).toBeLessThan(5);
  });
});
