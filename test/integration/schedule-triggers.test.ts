import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgProtectionStore } from '../../store/protection.ts';
import { golive } from '../support/cli.ts';
import { uniqueId } from '../support/db.ts';
import { until } from '../support/poll.ts';
import { startScheduleCli, type ScheduleCli } from '../support/schedule-cli.ts';

let s: ScheduleCli;

beforeAll(async () => {
  s = await startScheduleCli('schedule_triggers');
});

afterAll(() => s?.close());

const cli = (...args: string[]) => s.cli(...args);

describe('a paused schedule starts no run unless told to', () => {
  it('refuses drill trigger and backup trigger on a paused schedule, naming the pause note and what to type, and starts nothing', async () => {
    const { name } = await s.scheduled('paused');
    for (const kind of ['backup', 'drill']) {
      const id = `${kind}-${name}`;
      expect((await cli(kind, 'pause', id, '--comment', 'restore server migration')).code).toBe(0);
      const before = await s.scheduleState(id);
      const trigger = await cli(kind, 'trigger', id);
      expect(trigger.code).toBe(2);
      expect(trigger.stderr.trim()).toBe(
        `golive: cannot trigger ${id}: it is paused (pause by sre-on-call: restore server migration) and starts no runs until unpaused; nothing changed. ` +
          `Unpause it with \`golive ${kind} unpause ${id}\`, or start one run anyway with \`golive ${kind} trigger ${id} --force\``,
      );
      expect(await s.scheduleState(id)).toEqual(before);
    }
    expect(await s.harness.store.listRuns({ service: name, limit: 5 })).toEqual([]);
  });

  it('with --force triggers the paused schedule once; it stays paused, and the run ids have no colon', async () => {
    const { name } = await s.scheduled('forced');
    const backupId = `backup-${name}`;
    expect((await cli('backup', 'pause', backupId)).code).toBe(0);
    const trigger = await cli('backup', 'trigger', name, '--force', '--comment', 'before the migration');
    expect(trigger.code, trigger.stderr).toBe(0);
    const runId = /: run (\S+);/.exec(trigger.stdout)?.[1] ?? '';
    expect(trigger.stdout.trim()).toBe(`triggered paused schedule ${backupId} (note kept: before the migration): run ${runId}; follow it with \`golive status ${runId}\``);
    expect(runId).toMatch(new RegExp(`^${name}-backup-\\d{8}-\\d{4}-[0-9a-f]{4}$`));
    expect((await s.describeSchedule(backupId)).state.paused).toBe(true);

    const status = await cli('status', runId);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(runId);
    await until(async () => ((await s.harness.store.getRun(runId))?.status === 'succeeded' ? true : undefined), 60_000, `backup run ${runId} did not succeed`, 200);
    const backups = await createPgProtectionStore(s.harness.pool).lastBackups();
    expect(backups.find((entry) => entry.manifest.service === name)?.manifest.backupId).toBe(runId);

    const drill = await cli('drill', 'trigger', `drill-${name}`, '--json');
    expect(drill.code, drill.stderr).toBe(0);
    const drillRun = (JSON.parse(drill.stdout) as { runId: string }).runId;
    expect(drillRun).toMatch(new RegExp(`^${name}-drill-\\d{8}-\\d{4}-[0-9a-f]{4}$`));
    const record = await until(() => createPgProtectionStore(s.harness.pool).getDrill(drillRun), 90_000, `drill ${drillRun} was not recorded`, 200);
    expect(record).toMatchObject({ runId: drillRun, status: 'passed', trigger: 'schedule', backup: { backupId: runId } });

    const runs = await cli('runs', '--service', name);
    expect(runs.code, runs.stderr).toBe(0);
    expect(runs.stdout.trimEnd().split('\n').slice(1).map((line) => line.split(/\s+/)[0]).sort()).toEqual([drillRun, runId].sort());
    expect((await s.listedSchedule('backup', backupId)).notes[0]).toMatchObject({ control: 'trigger', forced: true, note: 'before the migration', actor: 'sre-on-call' });
    expect((await s.listedSchedule('drill', `drill-${name}`)).lastRun?.runId).toBe(drillRun);
  });
});

describe('a schedule starts one run at a time', () => {
  it('refuses a trigger while the run it started has not finished, and says when no worker has started that run', async () => {
    const name = uniqueId('busy');
    const file = await s.runbookFile(name);
    const id = `backup-${name}`;
    // No worker polls this queue: the schedule's run is taken but never starts.
    const idle = { env: { ...s.env, GOLIVE_TASK_QUEUE: uniqueId('no-worker') } };
    expect((await golive(['backup', 'schedule', file, '--cron', '0 2 * * *'], idle)).code).toBe(0);
    s.created.add(id);
    try {
      const first = await golive(['backup', 'trigger', id], idle);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout.trim()).toBe(`triggered schedule ${id}; its run has not started yet (is a worker polling task queue ${idle.env.GOLIVE_TASK_QUEUE}?): see \`golive backup schedules\` and \`golive runs\``);
      const taken = await s.describeSchedule(id);
      const pending = (await s.listedSchedule('backup', id)).lastRun?.runId ?? '';
      expect(pending).toMatch(new RegExp(`^${name}-backup-\\d{8}-\\d{4}-[0-9a-f]{4}$`));
      const again = await golive(['backup', 'trigger', id, '--force'], idle);
      expect(again.code).toBe(2);
      expect(again.stderr.trim()).toBe(
        `golive: cannot trigger ${id}: its run ${pending} has not finished and a schedule starts one run at a time; nothing changed. Follow that run with \`golive status ${pending}\``,
      );
      expect((await s.describeSchedule(id)).info.recentActions).toEqual(taken.info.recentActions);
    } finally {
      const running = (await s.describeSchedule(id)).info.runningActions;
      for (const action of running) await s.harness.client.workflow.getHandle(action.workflow.workflowId).terminate('test done').catch(() => undefined);
    }
  });
});

