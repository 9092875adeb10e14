import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { applyControl } from '../../runtime/schedule-controls.ts';
import { createPgProtectionStore } from '../../store/protection.ts';
import { golive } from '../support/cli.ts';
import { uniqueId } from '../support/db.ts';
import { createEngineHarness, type EngineHarness } from '../support/engine.ts';
import { until } from '../support/poll.ts';
import { createDrSource, startDrWorker, type DrSource } from '../support/protection.ts';

let harness: EngineHarness;
let source: DrSource;
let folder: string;
let env: NodeJS.ProcessEnv;
const created = new Set<string>();

beforeAll(async () => {
  harness = await createEngineHarness('schedule_controls');
  source = await createDrSource('schedule_controls_source', 500);
  await startDrWorker(harness, source.env);
  folder = await mkdtemp(join(tmpdir(), 'golive-schedule-controls-'));
  env = {
    ...process.env,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    DATABASE_URL: harness.databaseUrl,
    GOLIVE_TASK_QUEUE: harness.taskQueue,
    GOLIVE_HOME: join(folder, '.golive'),
    GOLIVE_USER: 'sre-on-call',
    ...source.env,
  };
});

afterAll(async () => {
  for (const id of created) await applyControl(harness.client, id, 'delete', 'test done').catch(() => undefined);
  await harness?.close();
  await source?.drop();
  if (folder) await rm(folder, { recursive: true, force: true });
});

const cli = (...args: string[]) => golive(args, { env });

/** A runbook file as a user writes it, protecting the test source; returns where it is. */
async function runbookFile(name: string): Promise<string> {
  const file = join(folder, `${name}.yaml`);
  await writeFile(file, stringify({
    apiVersion: 'golive/v1',
    kind: 'Runbook',
    metadata: { name, service: name },
    spec: {
      strategy: 'warm-standby',
      objectives: { rpo: '1h', rto: '1h' },
      targets: {
        source: { type: 'postgres', url: '${DR_SOURCE_URL}' },
        server: { type: 'postgres', url: '${DR_SERVER_URL}' },
        backups: { type: 'filesystem', path: '${DR_BACKUP_DIR}' },
      },
      backup: { source: 'source', store: 'backups' },
      drill: { server: 'server', smoke: [{ id: 'orders', sql: 'SELECT count(*)::int AS n FROM orders', assert: 'rows.0.n == 500' }] },
      steps: [{ id: 'newest', action: 'backup.latest', target: 'backups', with: { service: name } }],
    },
  }));
  return file;
}

/** A new runbook file with a schedule of each kind (02:00 and 04:00 every day, so nothing fires during the test). */
async function scheduled(prefix: string): Promise<{ name: string; file: string }> {
  const name = uniqueId(prefix);
  const file = await runbookFile(name);
  for (const kind of ['backup', 'drill']) {
    const result = await cli(kind, 'schedule', file, '--cron', kind === 'backup' ? '0 2 * * *' : '0 4 * * *');
    expect(result.code, result.stderr).toBe(0);
    created.add(`${kind}-${name}`);
  }
  return { name, file };
}

const describeSchedule = (id: string) => harness.client.schedule.getHandle(id).describe();

/** What a refused control must leave as it was: pause state, note, actions taken, and the schedule itself. */
async function scheduleState(id: string) {
  const description = await describeSchedule(id);
  return { paused: description.state.paused, note: description.state.note, actions: description.info.recentActions.length };
}

interface ListedNote {
  actor: string;
  control: string;
  note?: string;
  forced?: boolean;
  at: string;
}

interface Listed {
  scheduleId: string;
  kind: string;
  cron: string;
  timezone?: string;
  paused: boolean;
  lastRun?: { runId: string };
  notes: ListedNote[];
}

async function listed(kind: 'backup' | 'drill'): Promise<Listed[]> {
  const result = await cli(kind, 'schedules', '--json');
  expect(result.code, result.stderr).toBe(0);
  const answer = JSON.parse(result.stdout) as { schedules: Listed[] };
  expect(Object.keys(answer)).toEqual(['schedules']);
  return answer.schedules;
}

/** The schedule as `KIND schedules --json` lists it, once the listing shows it. */
const listedSchedule = (kind: 'backup' | 'drill', id: string) =>
  until(async () => (await listed(kind)).find((schedule) => schedule.scheduleId === id), 10_000, `${id} was not listed by golive ${kind} schedules`, 200);

describe('a paused schedule starts no run unless told to', () => {
  it('refuses drill trigger and backup trigger on a paused schedule, naming the pause note and what to type, and starts nothing', async () => {
    const { name } = await scheduled('paused');
    for (const kind of ['backup', 'drill']) {
      const id = `${kind}-${name}`;
      expect((await cli(kind, 'pause', id, '--comment', 'restore server migration')).code).toBe(0);
      const before = await scheduleState(id);
      const trigger = await cli(kind, 'trigger', id);
      expect(trigger.code).toBe(2);
      expect(trigger.stderr.trim()).toBe(
        `golive: cannot trigger ${id}: it is paused (pause by sre-on-call: restore server migration) and starts no runs until unpaused; nothing changed. ` +
          `Unpause it with \`golive ${kind} unpause ${id}\`, or start one run anyway with \`golive ${kind} trigger ${id} --force\``,
      );
      expect(await scheduleState(id)).toEqual(before);
    }
    expect(await harness.store.listRuns({ service: name, limit: 5 })).toEqual([]);
  });

  it('with --force triggers the paused schedule once; it stays paused, and the run ids have no colon', async () => {
    const { name } = await scheduled('forced');
    const backupId = `backup-${name}`;
    expect((await cli('backup', 'pause', backupId)).code).toBe(0);
    const trigger = await cli('backup', 'trigger', name, '--force', '--comment', 'before the migration');
    expect(trigger.code, trigger.stderr).toBe(0);
    const runId = /: run (\S+);/.exec(trigger.stdout)?.[1] ?? '';
    expect(trigger.stdout.trim()).toBe(`triggered paused schedule ${backupId} (note kept: before the migration): run ${runId}; follow it with \`golive status ${runId}\``);
    expect(runId).toMatch(new RegExp(`^${name}-backup-\\d{8}-\\d{4}-[0-9a-f]{4}$`));
    expect((await describeSchedule(backupId)).state.paused).toBe(true);

    const status = await cli('status', runId);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(runId);
    await until(async () => ((await harness.store.getRun(runId))?.status === 'succeeded' ? true : undefined), 60_000, `backup run ${runId} did not succeed`, 200);
    const backups = await createPgProtectionStore(harness.pool).lastBackups();
    expect(backups.find((entry) => entry.manifest.service === name)?.manifest.backupId).toBe(runId);

    const drill = await cli('drill', 'trigger', `drill-${name}`, '--json');
    expect(drill.code, drill.stderr).toBe(0);
    const drillRun = (JSON.parse(drill.stdout) as { runId: string }).runId;
    expect(drillRun).toMatch(new RegExp(`^${name}-drill-\\d{8}-\\d{4}-[0-9a-f]{4}$`));
    const record = await until(() => createPgProtectionStore(harness.pool).getDrill(drillRun), 90_000, `drill ${drillRun} was not recorded`, 200);
    expect(record).toMatchObject({ runId: drillRun, status: 'passed', trigger: 'schedule', backup: { backupId: runId } });

    const runs = await cli('runs', '--service', name);
    expect(runs.code, runs.stderr).toBe(0);
    expect(runs.stdout.trimEnd().split('\n').slice(1).map((line) => line.split(/\s+/)[0]).sort()).toEqual([drillRun, runId].sort());
    expect((await listedSchedule('backup', backupId)).notes[0]).toMatchObject({ control: 'trigger', forced: true, note: 'before the migration', actor: 'sre-on-call' });
    expect((await listedSchedule('drill', `drill-${name}`)).lastRun?.runId).toBe(drillRun);
  });
});

describe('a schedule starts one run at a time', () => {
  it('refuses a trigger while the run it started has not finished, and says when no worker has started that run', async () => {
    const name = uniqueId('busy');
    const file = await runbookFile(name);
    const id = `backup-${name}`;
    // No worker polls this queue: the schedule's run is taken but never starts.
    const idle = { env: { ...env, GOLIVE_TASK_QUEUE: uniqueId('no-worker') } };
    expect((await golive(['backup', 'schedule', file, '--cron', '0 2 * * *'], idle)).code).toBe(0);
    created.add(id);
    try {
      const first = await golive(['backup', 'trigger', id], idle);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout.trim()).toBe(`triggered schedule ${id}; its run has not started yet (is a worker polling task queue ${idle.env.GOLIVE_TASK_QUEUE}?): see \`golive backup schedules\` and \`golive runs\``);
      const taken = await describeSchedule(id);
      const pending = (await listedSchedule('backup', id)).lastRun?.runId ?? '';
      expect(pending).toMatch(new RegExp(`^${name}-backup-\\d{8}-\\d{4}-[0-9a-f]{4}$`));
      const again = await golive(['backup', 'trigger', id, '--force'], idle);
      expect(again.code).toBe(2);
      expect(again.stderr.trim()).toBe(
        `golive: cannot trigger ${id}: its run ${pending} has not finished and a schedule starts one run at a time; nothing changed. Follow that run with \`golive status ${pending}\``,
      );
      expect((await describeSchedule(id)).info.recentActions).toEqual(taken.info.recentActions);
    } finally {
      const running = (await describeSchedule(id)).info.runningActions;
      for (const action of running) await harness.client.workflow.getHandle(action.workflow.workflowId).terminate('test done').catch(() => undefined);
    }
  });
});

describe('a backup control never touches a drill schedule, and the other way round', () => {
  it('refuses each control on a schedule of the other kind, naming the command to use, and changes nothing', async () => {
    const { name } = await scheduled('kinds');
    for (const [kind, other] of [['backup', 'drill'], ['drill', 'backup']] as const) {
      const id = `${other}-${name}`;
      const before = await scheduleState(id);
      for (const control of ['pause', 'unpause', 'trigger', 'delete']) {
        const refused = await cli(kind, control, id, '--comment', 'wrong kind');
        expect(refused.code, `${kind} ${control} ${id}`).toBe(2);
        expect(refused.stderr.trim()).toBe(
          `golive: ${id} is a ${other} schedule and \`golive ${kind} ${control}\` acts only on ${kind} schedules; nothing changed. Use \`golive ${other} ${control} ${id}\``,
        );
      }
      expect(await scheduleState(id)).toEqual(before);
      expect((await listedSchedule(other, id)).notes).toEqual([]);
    }
  });
});

describe('what names a schedule', () => {
  it('takes the runbook file or the bare runbook name wherever a schedule id goes', async () => {
    const { name, file } = await scheduled('names');
    const paused = await cli('drill', 'pause', file, '--comment', 'by file');
    expect([paused.code, paused.stderr]).toEqual([0, '']);
    expect(paused.stdout.trim()).toBe(`paused schedule drill-${name} (note kept: by file)`);
    expect((await describeSchedule(`drill-${name}`)).state.paused).toBe(true);
    expect((await describeSchedule(`backup-${name}`)).state.paused).toBe(false);
    const unpaused = await cli('drill', 'unpause', name);
    expect([unpaused.code, unpaused.stdout.trim()]).toEqual([0, `unpaused schedule drill-${name}`]);
    const byFile = await cli('backup', 'pause', file, '--json');
    expect(JSON.parse(byFile.stdout)).toEqual({ scheduleId: `backup-${name}`, control: 'pause', actor: 'sre-on-call' });
  });

  it('answers an unknown schedule or runbook with not found, listing the schedules of that kind', async () => {
    const { name } = await scheduled('unknown');
    await listedSchedule('backup', `backup-${name}`);
    const unknown = await cli('drill', 'trigger', 'orders-nowhere');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toMatch(/^golive: no drill schedule orders-nowhere; the drill schedules are drill-[a-z0-9-]+(, drill-[a-z0-9-]+)*( and \d+ more)? \(`golive drill schedules` lists them\)$/);
    const asJson = await cli('backup', 'pause', 'orders-nowhere', '--json');
    expect(asJson.code).toBe(2);
    expect(JSON.parse(asJson.stdout)).toMatchObject({ error: { code: 'not_found', message: expect.stringMatching(/^no backup schedule orders-nowhere; the backup schedules are backup-/) } });
    const file = await runbookFile(uniqueId('unscheduled'));
    const unscheduled = await cli('drill', 'pause', file);
    expect(unscheduled.code).toBe(2);
    expect(unscheduled.stderr).toMatch(new RegExp(`^golive: no drill schedule drill-unscheduled-\\w+ \\(the drill schedule of ${file.replace(/[.]/g, '\\.')}\\); the drill schedules are `));
  });
});

describe('golive backup schedules and golive drill schedules', () => {
  it('each lists only its own kind, as {"schedules": [...]} with --json and as a table without', async () => {
    const { name } = await scheduled('lists');
    const backups = await listed('backup');
    const drills = await listed('drill');
    expect(backups.every((schedule) => schedule.kind === 'backup')).toBe(true);
    expect(drills.every((schedule) => schedule.kind === 'drill')).toBe(true);
    expect(backups.map((schedule) => schedule.scheduleId)).toContain(`backup-${name}`);
    expect(drills.map((schedule) => schedule.scheduleId)).toContain(`drill-${name}`);
    const table = await cli('backup', 'schedules');
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^SCHEDULE\s+SERVICE\s+CRON\s+STATE\s+NEXT RUN\s+LAST RUN\s+LAST RESULT\s+RUNBOOK FILE\n/);
    expect(table.stdout).toMatch(new RegExp(`backup-${name}\\s+${name}\\s+0 2 \\* \\* \\*\\s+active`));
    expect(table.stdout).not.toContain(`drill-${name}`);
  });
});

describe('golive drill schedule again', () => {
  it('keeps the options not given and says which; options given replace them', async () => {
    const name = uniqueId('again');
    const file = await runbookFile(name);
    const id = `drill-${name}`;
    created.add(id);
    const first = await cli('drill', 'schedule', file, '--cron', '30 3 * * *', '--timezone', 'Europe/Berlin', '--fresh-backup');
    expect(first.stdout).toMatch(new RegExp(`^created schedule ${id}; next runs: `));

    const cronOnly = await cli('drill', 'schedule', file, '--cron', '0 4 * * *');
    expect(cronOnly.stdout).toMatch(new RegExp(`^updated schedule ${id}; kept --timezone Europe/Berlin, --fresh-backup \\(give them to change them\\); next runs: \\S+T0[23]:00:00\\.000Z`));
    const nothing = await cli('drill', 'schedule', file, '--json');
    expect(JSON.parse(nothing.stdout)).toMatchObject({ scheduleId: id, created: false, kept: { cron: '0 4 * * *', timezone: 'Europe/Berlin', freshBackup: true } });
    let pinned = await describeSchedule(id);
    expect([pinned.spec.timezone, pinned.spec.calendars?.map((calendar) => calendar.comment)]).toEqual(['Europe/Berlin', ['0 4 * * *']]);
    expect(JSON.stringify(pinned.action.args)).toContain('"freshBackup":true');

    const replaced = await cli('drill', 'schedule', file, '--timezone', 'UTC', '--no-fresh-backup');
    expect(replaced.stdout).toMatch(new RegExp(`^updated schedule ${id}; kept --cron "0 4 \\* \\* \\*" \\(give it to change it\\); next runs: \\S+T04:00:00\\.000Z`));
    pinned = await describeSchedule(id);
    expect(pinned.spec.timezone).toBe('UTC');
    expect(JSON.stringify(pinned.action.args)).not.toContain('freshBackup');

    const none = await cli('backup', 'schedule', file);
    expect(none.code).toBe(2);
    expect(none.stderr.trim()).toBe(`golive: cannot schedule backups of ${name}: there is no schedule backup-${name} yet, so give --cron, like --cron "0 3 * * *" (03:00 every day)`);
  });
});

describe('every control keeps its own note', () => {
  it('keeps who, when, which schedule, which control and the note of each pause, unpause, trigger and delete, and shows the newest', async () => {
    const { name } = await scheduled('notes');
    const id = `backup-${name}`;
    expect((await cli('backup', 'pause', id, '--as', 'ana', '--comment', 'disk full on the store')).code).toBe(0);
    expect((await cli('backup', 'pause', id, '--as', 'bob', '--comment', 'and the vendor is patching')).code).toBe(0);
    expect((await cli('backup', 'unpause', id, '--as', 'ana')).code).toBe(0);
    const notes = (await listedSchedule('backup', id)).notes;
    expect(notes.map(({ actor, control, note }) => ({ actor, control, note }))).toEqual([
      { actor: 'ana', control: 'unpause', note: undefined },
      { actor: 'bob', control: 'pause', note: 'and the vendor is patching' },
      { actor: 'ana', control: 'pause', note: 'disk full on the store' },
    ]);
    expect(notes.every((note) => Math.abs(Date.parse(note.at) - Date.now()) < 60_000)).toBe(true);
    const table = await cli('backup', 'schedules');
    expect(table.stdout).toContain(`${id} notes, newest first:`);
    expect(table.stdout).toMatch(/\n {2}\S+ \S+Z {2}pause by bob: and the vendor is patching\n {2}\S+ \S+Z {2}pause by ana: disk full on the store/);

    expect((await cli('backup', 'delete', name, '--as', 'carol', '--comment', 'service retired')).code).toBe(0);
    created.delete(id);
    const { rows } = await harness.pool.query<{ actor: string; channel: string; action: string; detail: { note?: string } }>(
      'SELECT actor, channel, action, detail FROM admin_events WHERE subject = $1 ORDER BY id', [id],
    );
    expect(rows.map(({ actor, channel, action, detail }) => [actor, channel, action, detail.note])).toEqual([
      ['ana', 'cli', 'schedule.pause', 'disk full on the store'],
      ['bob', 'cli', 'schedule.pause', 'and the vendor is patching'],
      ['ana', 'cli', 'schedule.unpause', undefined],
      ['carol', 'cli', 'schedule.delete', 'service retired'],
    ]);
    const gone = await cli('backup', 'unpause', id);
    expect(gone.code).toBe(2);
    expect((await harness.pool.query('SELECT 1 FROM admin_events WHERE subject = $1', [id])).rowCount).toBe(4);
  });
});
