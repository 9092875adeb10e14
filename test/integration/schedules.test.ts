import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ScheduleControl } from '../../runtime/schedule-controls.ts';
import { applyControl, controlSchedule } from '../../runtime/schedule-controls.ts';
import { listSchedules } from '../../runtime/schedule-views.ts';
import { upsertSchedule } from '../../runtime/schedules.ts';
import { createPgProtectionStore } from '../../store/protection.ts';
import { createPgScheduleNotes } from '../../store/schedule-notes.ts';
import { golive } from '../support/cli.ts';
import { createEngineHarness, type EngineHarness } from '../support/engine.ts';
import { until } from '../support/poll.ts';
import { createDrSource, drRunbook, startDrWorker, type DrSource } from '../support/protection.ts';
import { uniqueId } from '../support/db.ts';
import { startSlackApi, type SlackApi } from '../support/slack.ts';

let harness: EngineHarness;
let source: DrSource;
let slack: SlackApi;
const created: string[] = [];

beforeAll(async () => {
  harness = await createEngineHarness('schedules');
  source = await createDrSource('schedules_source', 2_000);
  slack = await startSlackApi('xoxb-schedules-test');
  // Two workers on the queue, as in production: a scheduled drill still runs once.
  const notify = { token: 'xoxb-schedules-test', channel: 'C-dr-drills', apiUrl: slack.apiUrl };
  await startDrWorker(harness, source.env, notify);
  await startDrWorker(harness, source.env, notify);
});

afterAll(async () => {
  for (const id of created) await applyControl(harness.client, id, 'delete', 'test done').catch(() => undefined);
  await harness?.close();
  await source?.drop();
  await slack?.close();
});

/** A control as `golive drill|backup CONTROL ID --as ana` applies it. */
const control = (kind: 'backup' | 'drill', schedule: string, name: ScheduleControl, comment?: string) =>
  controlSchedule(harness.client, createPgScheduleNotes(harness.pool), { kind, schedule, control: name, actor: { name: 'ana', channel: 'cli' }, comment });

describe('drill schedules on the Temporal dev server', () => {
  it('creates, lists, triggers and pauses a drill schedule; the triggered drill lands in drill history', async () => {
    const name = uniqueId('sched');
    const runbook = drRunbook(name, { expectOrders: 2_000 });
    const request = { runbook, requestedBy: 'schedule', taskQueue: harness.taskQueue, source: 'test' };
    const backup = await upsertSchedule(harness.client, { ...request, kind: 'backup', cron: '0 2 * * *' });
    const drill = await upsertSchedule(harness.client, { ...request, kind: 'drill', cron: '30 3 * * *', timezone: 'Europe/Berlin' });
    created.push(backup.scheduleId, drill.scheduleId);
    expect(drill).toMatchObject({ scheduleId: `drill-${name}`, created: true });
    expect(drill.nextRuns[0]!.getTime()).toBeGreaterThan(Date.now());

    const again = await upsertSchedule(harness.client, { ...request, kind: 'drill', cron: '30 4 * * *', timezone: 'Europe/Berlin' });
    expect(again.created).toBe(false);

    const listed = (await listSchedules(harness.client)).filter((schedule) => schedule.runbook === name);
    expect(listed.map((schedule) => [schedule.scheduleId, schedule.kind, schedule.cron, schedule.paused])).toEqual([
      [`backup-${name}`, 'backup', '0 2 * * *', false],
      [`drill-${name}`, 'drill', '30 4 * * *', false],
    ]);
    expect(listed[1]!.timezone).toBe('Europe/Berlin');
    // 04:30 in Berlin is 03:30 UTC in winter, 02:30 in summer.
    expect(listed[1]!.nextRun).toMatch(/T0[23]:30:00\.000Z$/);

    await control('backup', backup.scheduleId, 'trigger');
    const store = createPgProtectionStore(harness.pool);
    await until(async () => (await harness.store.listRuns({ service: name, limit: 5 })).find((run) => run.status === 'succeeded'), 60_000, 'the triggered backup did not finish');
    await control('drill', drill.scheduleId, 'trigger');
    const record = await until(async () => (await store.listDrills({ service: name, limit: 5 }))[0], 90_000, 'the triggered drill was not recorded');
    expect(record).toMatchObject({ service: name, trigger: 'schedule', status: 'passed', requestedBy: `schedule:drill-${name}` });
    expect(record.runId).toMatch(new RegExp(`^${name}-drill-\\d{8}-\\d{4}-[0-9a-f]{4}$`));
    const drillRuns = (await harness.store.listRuns({ service: name, limit: 10 })).filter((run) => run.kind === 'drill');
    expect(drillRuns.map((run) => run.runId)).toEqual([record.runId]);
    const posted = await until(async () => (slack.received.length > 0 ? slack.received : undefined), 10_000, 'no drill result reached Slack');
    expect(posted).toHaveLength(1);
    expect(posted[0]?.body).toMatchObject({ channel: 'C-dr-drills', text: expect.stringMatching(new RegExp(`^Restore drill passed for ${name}\\. RPO .* Run ${record.runId}\\.$`)) });

    await control('drill', drill.scheduleId, 'pause', 'maintenance window');
    const paused = (await listSchedules(harness.client)).find((schedule) => schedule.scheduleId === drill.scheduleId);
    expect(paused).toMatchObject({ paused: true, note: 'pause by ana: maintenance window', lastRun: { runId: record.runId } });

    const env = { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), DATABASE_URL: harness.databaseUrl };
    const history = await golive(['drill', 'history', '--service', name, '--json'], { env });
    expect(history.code, history.stderr).toBe(0);
    expect(JSON.parse(history.stdout)).toEqual({ drills: [expect.objectContaining({ runId: record.runId, status: 'passed' })] });
    const schedules = await golive(['drill', 'schedules'], { env });
    expect(schedules.code, schedules.stderr).toBe(0);
    expect(schedules.stdout).toMatch(new RegExp(`drill-${name}\\s+${name}\\s+30 4 \\* \\* \\* \\(Europe/Berlin\\)\\s+paused`));
    expect(schedules.stdout).toMatch(new RegExp(`${record.runId}\\s+passed`));

    await control('drill', drill.scheduleId, 'unpause');
    expect((await listSchedules(harness.client)).find((schedule) => schedule.scheduleId === drill.scheduleId)?.paused).toBe(false);
  });

  it('refuses a malformed cron expression and an unknown schedule, changing nothing', async () => {
    const runbook = drRunbook(uniqueId('sched'));
    await expect(upsertSchedule(harness.client, { runbook, kind: 'drill', cron: 'every day', requestedBy: 'x', taskQueue: harness.taskQueue, source: 'test' }))
      .rejects.toThrow(/--cron "every day" is not a cron expression/);
    await expect(upsertSchedule(harness.client, { runbook, kind: 'drill', cron: '0 3 * * *', timezone: 'Mars/Olympus_Mons', requestedBy: 'x', taskQueue: harness.taskQueue, source: 'test' }))
      .rejects.toThrow(/^cannot schedule drills of sched-\w+: Temporal refused --cron "0 3 \* \* \*" --timezone Mars\/Olympus_Mons: /);
    await expect(upsertSchedule(harness.client, { runbook, kind: 'drill', cron: '99 3 * * *', requestedBy: 'x', taskQueue: harness.taskQueue, source: 'test' }))
      .rejects.toThrow(/^cannot schedule drills of sched-\w+: Temporal refused --cron "99 3 \* \* \*": /);
    expect((await listSchedules(harness.client)).some((schedule) => schedule.runbook === runbook.metadata.name)).toBe(false);
    await expect(control('drill', 'drill-nothing-here', 'pause')).rejects.toThrow('no drill schedule drill-nothing-here');
  });
});
