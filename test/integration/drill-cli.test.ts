import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { golive } from '../support/cli.ts';
import { startDrCli, type DrCli } from '../support/dr-cli.ts';
import type { EngineHarness } from '../support/engine.ts';

let dr: DrCli;
let harness: EngineHarness;
let env: NodeJS.ProcessEnv;
const writeRunbook = (name: string, options: { rpo?: string; drill?: boolean } = {}) => dr.runbookFile(name, options);

beforeAll(async () => {
  dr = await startDrCli('drill_cli', 3_000);
  ({ harness, env } = dr);
});

afterAll(() => dr?.close());

describe('golive backup run and golive drill run', () => {
  it('backs up, drills, and prints the measured RPO and RTO against the objectives', async () => {
    const file = await writeRunbook('orders-cli');
    const backup = await golive(['backup', 'run', file], { env });
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout).toMatch(/backup run orders-cli-backup-\S+: succeeded/);
    expect(backup.stdout).toMatch(/3 tables, 4500 rows/);

    const drill = await golive(['drill', 'run', file], { env });
    expect(drill.code, drill.stderr).toBe(0);
    expect(drill.stdout).toMatch(/drill orders-cli-drill-\S+: PASSED/);
    expect(drill.stdout).toMatch(/RPO\s+measured \d+\.\ds \(newest snapshot [^)]+, source clock\)\s+objective 1h\s+met/);
    expect(drill.stdout).toMatch(/disaster declared \(T_d\) \S+ \S+Z on the worker clock \(source clock [+-][\d.]+m?s\), recovered/);
    expect(drill.stdout).toMatch(/RTO\s+measured \d+\.\ds\s+objective 1h\s+met/);
    expect(drill.stdout).toMatch(/smoke-orders\s+succeeded/);

    const json = await golive(['drill', 'run', file, '--json'], { env });
    expect(json.code, json.stderr).toBe(0);
    const record = JSON.parse(json.stdout) as { status: string; requestedBy: string; measured: { rpoSource: string } };
    expect(record).toMatchObject({ status: 'passed', requestedBy: 'sre-on-call', measured: { rpoSource: 'snapshot' } });

    const listed = await golive(['backup', 'list', file], { env });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^BACKUP\s+SNAPSHOT\s+SIZE\s+TABLES\s+ROWS\s+SHA256\s+LOCATION$/m);
    expect(listed.stdout).toMatch(/orders-cli-backup-\S+\s+\S+ \S+Z\s+[\d.]+ KB\s+3\s+4500\s+[0-9a-f]{12}…\s+\/\S+\/orders-cli\/orders-cli-backup-\S+\.dump/);

    const runs = await golive(['runs', '--service', 'orders-cli'], { env });
    expect(runs.stdout).toMatch(/orders-cli-drill-\S+\s+drill\s+succeeded\s+orders-cli/);
    expect(runs.stdout).toMatch(/orders-cli-backup-\S+\s+backup\s+succeeded\s+orders-cli/);

    const posture = await golive(['posture', '--json'], { env });
    expect(posture.code, posture.stderr).toBe(0);
    const services = (JSON.parse(posture.stdout) as { services: { service: string; status: string; lastDrill: { status: string } }[] }).services;
    expect(services.find((service) => service.service === 'orders-cli')).toMatchObject({ status: 'ok', lastDrill: { status: 'passed' } });
    expect((await golive(['posture', '--check'], { env })).code).toBe(0);
  });

  it('exits 1 with both numbers when the measured RPO misses the objective', async () => {
    const file = await writeRunbook('orders-tight', { rpo: '1s' });
    expect((await golive(['backup', 'run', file], { env })).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const drill = await golive(['drill', 'run', file], { env });
    expect(drill.code).toBe(1);
    expect(drill.stdout).toMatch(/: FAILED/);
    expect(drill.stdout).toMatch(/reason: measured RPO \d+\.\ds exceeds objective 1s/);
    expect(drill.stdout).toMatch(/RPO\s+measured \d+\.\ds .*objective 1s\s+MISSED/);
  });

  it('fails a drill clearly when the service has no backup yet', async () => {
    const file = await writeRunbook('orders-empty');
    const drill = await golive(['drill', 'run', file], { env });
    expect(drill.code).toBe(1);
    expect(drill.stdout).toMatch(/reason: step find-backup failed: no backup of orders-empty in .*golive backup run/);
  });
});

describe('golive drill schedule', () => {
  it('schedules from a file, lists it, and says when the file changed since', async () => {
    const file = await writeRunbook('orders-weekly');
    const scheduled = await golive(['drill', 'schedule', file, '--cron', '0 4 * * 1'], { env });
    expect(scheduled.code, scheduled.stderr).toBe(0);
    expect(scheduled.stdout).toMatch(/^created schedule drill-orders-weekly; next runs: \d{4}-\d\d-\d\dT04:00:00\.000Z/);
    const listed = async () => {
      const result = await golive(['drill', 'schedules', '--json'], { env });
      return (JSON.parse(result.stdout) as { schedules: { scheduleId: string; definition: string; cron: string }[] }).schedules.find((schedule) => schedule.scheduleId === 'drill-orders-weekly');
    };
    try {
      expect(await listed()).toMatchObject({ cron: '0 4 * * 1', definition: 'as scheduled' });
      await writeRunbook('orders-weekly', { rpo: '30m' });
      expect(await listed()).toMatchObject({ definition: 'changed since scheduled' });
      const again = await golive(['drill', 'schedule', file, '--cron', '0 5 * * 1'], { env });
      expect(again.stdout).toMatch(/^updated schedule drill-orders-weekly/);
      expect(await listed()).toMatchObject({ cron: '0 5 * * 1', definition: 'as scheduled' });
    } finally {
      await golive(['drill', 'delete', 'orders-weekly'], { env });
    }
    expect(await listed()).toBeUndefined();
  });
});

describe('bad input changes nothing', () => {
  it('refuses a drill of a runbook without spec.drill, naming what to add', async () => {
    const file = await writeRunbook('orders-nodrill', { drill: false });
    const drill = await golive(['drill', 'run', file], { env });
    expect(drill.code).toBe(2);
    expect(drill.stderr).toContain(`golive: ${file} has no spec.drill: add one naming the server where drills restore`);
    expect(await harness.store.listRuns({ service: 'orders-nodrill', limit: 5 })).toEqual([]);
  });

  it('lists no backups for a service that has none, and names a store variable that is not set', async () => {
    const file = await writeRunbook('orders-none');
    const none = await golive(['backup', 'list', file], { env });
    expect([none.code, none.stdout.trim()]).toEqual([0, 'no complete backups in backups: take one with `golive backup run RUNBOOK`']);
    const unset = await golive(['backup', 'list', file], { env: { ...env, DR_BACKUP_DIR: '' } });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(/cannot open backup store backups of .*DR_BACKUP_DIR/);
    const check = await golive(['posture', '--check'], { env });
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/orders-none\s+warm-standby\s+1h\s+1h\s+none\s+never\s+at-risk/);
  });

  it('refuses a malformed cron expression and an unknown schedule', async () => {
    const file = await writeRunbook('orders-cron');
    const schedule = await golive(['drill', 'schedule', file, '--cron', 'nightly'], { env });
    expect(schedule.code).toBe(2);
    expect(schedule.stderr).toContain('--cron "nightly" is not a cron expression');
    const pause = await golive(['drill', 'pause', 'orders-unknown'], { env });
    expect(pause.code).toBe(2);
    expect(pause.stderr).toMatch(/^golive: no drill schedule orders-unknown; /);
  });
});
