import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { advise } from '../../definitions/advisor.ts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { upsertFailover } from '../../store/failovers.ts';
import { migrate } from '../../store/migrate.ts';
import { createPgProtectionStore } from '../../store/protection.ts';
import { inTransaction } from '../../store/transaction.ts';
import { golive } from '../support/cli.ts';
import { createTestDatabase } from '../support/db.ts';
import { failoverDrillRunbookText } from '../support/failover-drill.ts';
import { finishedFailover, runningFailover } from '../support/failover-records.ts';
import { backupEntry, drillRecord, protectedRunbookText } from '../support/protection-records.ts';

const HOUR = 3_600_000;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let scratch = '';
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  database = await createTestDatabase('protection_cli');
  const pool = new pg.Pool({ connectionString: database.url });
  try {
    await migrate(pool);
    const store = createPgProtectionStore(pool);
    const now = Date.now();
    await store.recorded(backupEntry('orders', 'orders-recent', now - 2 * HOUR));
    await store.recorded(backupEntry('payments', 'payments-stale', now - 51 * HOUR));
    await store.recordDrill(drillRecord({ runId: 'orders-drill-1', service: 'orders', finishedAt: now - 5 * HOUR, rpoMs: 7_500_000, rtoMs: 243_000 }));
    await store.recordDrill(drillRecord({ runId: 'payments-drill-1', service: 'payments', finishedAt: now - HOUR, status: 'failed', reason: 'measured RPO 26h 0m exceeds objective 24h', rpoMs: 26 * HOUR }));
    // orders: an older failover drill, then the newest one; a real failover after them is not a drill.
    await inTransaction(pool, async (client) => {
      await upsertFailover(client, finishedFailover(runningFailover({ runId: 'orders-failover-0', declaredAt: now - 30 * HOUR, drill: 'staging' }), 'failed'));
      await upsertFailover(client, finishedFailover(runningFailover({ runId: 'orders-failover-1', declaredAt: now - 3 * HOUR, drill: 'staging' })));
      await upsertFailover(client, finishedFailover(runningFailover({ runId: 'orders-failover-2', declaredAt: now - HOUR })));
    });
  } finally {
    await pool.end();
  }
  scratch = await mkdtemp(join(tmpdir(), 'golive-posture-'));
  await writeFile(join(scratch, 'orders.yaml'), protectedRunbookText({ name: 'orders-backup-restore', service: 'orders' }));
  await writeFile(join(scratch, 'payments.yaml'), protectedRunbookText({ name: 'payments-backup-restore', service: 'payments' }));
  await writeFile(join(scratch, 'payments-failover.yaml'), failoverDrillRunbookText({ name: 'payments-failover', service: 'payments', stagingUrl: 'http://127.0.0.1:9' }));
  env = { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), DATABASE_URL: database.url, GOLIVE_HOME: join(scratch, '.golive'), GOLIVE_RUNBOOKS_DIR: scratch };
});

afterAll(async () => {
  await database?.drop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('golive advise', () => {
  it('prints the cheapest strategy, its template and why the others were not chosen', async () => {
    const result = await golive(['advise', '--rpo', '5m', '--rto', '30m'], { env });
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(result.stdout.split('\n').slice(0, 5)).toEqual([
      'warm-standby  (start from runbooks/orders-warm-standby.yaml)',
      'warm-standby is the cheapest strategy that meets RPO 5m and RTO 30m: it reaches RPO 10s and RTO 10m at best (RPO minutes, RTO minutes to hours)',
      '',
      'not chosen:',
      '  backup-restore  cannot meet RPO 5m: its tightest RPO is 1h (RPO hours to days, RTO days)',
    ]);
  });

  it('prints JSON with --json', async () => {
    const result = await golive(['advise', '--rpo', '1h', '--rto', '1d', '--json'], { env });
    expect(result.code).toBe(0);
    const advice = JSON.parse(result.stdout) as { strategy: string; template: string; rejected: { strategy: string }[] };
    expect([advice.strategy, advice.template, advice.rejected.map((each) => each.strategy)]).toEqual([
      'backup-restore', 'runbooks/orders-backup-restore.yaml', ['pilot-light', 'warm-standby', 'active-active'],
    ]);
  });

  it('takes --rpo 0 --rto 0 and prints {strategy, template, why, rejected} with --json', async () => {
    const result = await golive(['advise', '--rpo', '0', '--rto', '0', '--json'], { env });
    expect([result.code, result.stderr]).toEqual([0, '']);
    const advice: unknown = JSON.parse(result.stdout);
    expect(advice).toEqual(advise({ rpoMs: 0, rtoMs: 0 }));
    expect(advice).toMatchObject({ strategy: 'active-active', template: 'runbooks/orders-active-active.yaml' });
    const chapter = await golive(['advise', '--rpo', '1h', '--rto', '4h', '--json'], { env });
    expect(JSON.parse(chapter.stdout)).toMatchObject({ strategy: 'pilot-light', template: 'runbooks/orders-pilot-light.yaml' });
  });

  it('refuses a bad duration naming the flag and the format, and a missing flag', async () => {
    const bad = await golive(['advise', '--rpo', 'five minutes', '--rto', '30m'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("option '--rpo <duration>' argument 'five minutes' is invalid. expected a duration like 30s, 5m, 1h30m or 2d");
    const missing = await golive(['advise', '--rpo', '5m'], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--rto <duration>' not specified");
  });
});

describe('golive posture', () => {
  it('prints each service\'s posture as JSON', async () => {
    const result = await golive(['posture', '--json'], { env });
    expect([result.code, result.stderr]).toEqual([0, '']);
    const report = JSON.parse(result.stdout) as { services: { service: string; status: string; lastBackup: { backupId: string } | null; lastFailoverDrill: unknown; problems: string[] }[] };
    expect(report.services.map(({ service, status, lastBackup, problems }) => ({ service, status, backup: lastBackup?.backupId, problems }))).toEqual([
      { service: 'orders', status: 'ok', backup: 'orders-recent', problems: [] },
      {
        service: 'payments', status: 'at-risk', backup: 'payments-stale', problems: [
          'last backup 2d 3h old exceeds RPO 24h',
          'last drill payments-drill-1 failed: measured RPO 26h 0m exceeds objective 24h',
          'no drill passed in 30d (never passed)',
          `no failover drill yet: golive failover drill ${join(scratch, 'payments-failover.yaml')} --environment staging`,
        ],
      },
    ]);
    expect(report.services.map((service) => service.lastFailoverDrill)).toEqual([
      {
        runId: 'orders-failover-1', at: expect.stringMatching(/Z$/), status: 'succeeded', environment: 'staging',
        rtoMs: 90_000, objectiveRtoMs: 1_800_000, verdict: 'met', exposureSeconds: 0,
      },
      null,
    ]);
  });

  it('prints a table a person reads, with the problems under it', async () => {
    const result = await golive(['posture', '--dir', scratch], { env: { ...env, GOLIVE_RUNBOOKS_DIR: '/nonexistent' } });
    expect([result.code, result.stderr]).toEqual([0, '']);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SERVICE\s+STRATEGY\s+RPO\s+RTO\s+LAST BACKUP\s+LAST DRILL\s+STATUS\s+LAST FAILOVER DRILL$/);
    expect(lines[1]).toMatch(/^orders\s+backup-restore\s+24h\s+4h\s+2h 0m ago\s+passed \(RPO 2h 5m, RTO 4m 3s\)\s+ok\s+succeeded in staging \(RTO 1m 30s of 30m: met\)$/);
    expect(lines[2]).toMatch(/^payments\s+backup-restore\s+24h\s+4h\s+2d 3h ago\s+failed \(RPO 1d 2h, RTO 4m 0s\)\s+at-risk\s+never$/);
    expect(lines.slice(4)).toEqual([
      'payments (at-risk):',
      '  - last backup 2d 3h old exceeds RPO 24h',
      '  - last drill payments-drill-1 failed: measured RPO 26h 0m exceeds objective 24h',
      '  - no drill passed in 30d (never passed)',
      `  - no failover drill yet: golive failover drill ${join(scratch, 'payments-failover.yaml')} --environment staging`,
    ]);
  });
});

describe('golive drill history', () => {
  it('lists drills newest first, as a table and as JSON', async () => {
    const table = await golive(['drill', 'history'], { env });
    expect([table.code, table.stderr]).toEqual([0, '']);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^RUN\s+SERVICE\s+STATUS\s+FINISHED\s+RPO\s+OBJ\s+RTO\s+OBJ\s+TRIGGER\s+REASON$/);
    expect(lines[1]).toMatch(/^payments-drill-1\s+payments\s+failed\s+\S+ \S+Z\s+1d 2h\s+24h\s+4m 0s\s+4h\s+schedule\s+measured RPO 26h 0m exceeds objective 24h$/);
    expect(lines[2]).toMatch(/^orders-drill-1\s+orders\s+passed\s+/);
    const json = await golive(['drill', 'history', '--service', 'orders', '--json'], { env });
    expect((JSON.parse(json.stdout) as { drills: { runId: string }[] }).drills.map((drill) => drill.runId)).toEqual(['orders-drill-1']);
    const bad = await golive(['drill', 'history', '--limit', '0'], { env });
    expect([bad.code, bad.stderr.trim()]).toEqual([2, 'error: option \'--limit <n>\' argument \'0\' is invalid. give a whole number of at least 1, not "0"\n(add --help for usage)']);
  });
});
