import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueId } from '../support/db.ts';
import { startScheduleCli, type ScheduleCli } from '../support/schedule-cli.ts';

let s: ScheduleCli;

beforeAll(async () => {
  s = await startScheduleCli('schedule_controls');
});

afterAll(() => s?.close());

const cli = (...args: string[]) => s.cli(...args);

describe('a backup control never touches a drill schedule, and the other way round', () => {
  it('refuses each control on a schedule of the other kind, naming the command to use, and changes nothing', async () => {
    const { name } = await s.scheduled('kinds');
    for (const [kind, other] of [['backup', 'drill'], ['drill', 'backup']] as const) {
      const id = `${other}-${name}`;
      const before = await s.scheduleState(id);
      for (const control of ['pause', 'unpause', 'trigger', 'delete']) {
        const refused = await cli(kind, control, id, '--comment', 'wrong kind');
        expect(refused.code, `${kind} ${control} ${id}`).toBe(2);
        expect(refused.stderr.trim()).toBe(
          `golive: ${id} is a ${other} schedule and \`golive ${kind} ${control}\` acts only on ${kind} schedules; nothing changed. Use \`golive ${other} ${control} ${id}\``,
        );
      }
      expect(await s.scheduleState(id)).toEqual(before);
      expect((await s.listedSchedule(other, id)).notes).toEqual([]);
    }
  });
});

describe('what names a schedule', () => {
  it('takes the runbook file or the bare runbook name wherever a schedule id goes', async () => {
    const { name, file } = await s.scheduled('names');
    const paused = await cli('drill', 'pause', file, '--comment', 'by file');
    expect([paused.code, paused.stderr]).toEqual([0, '']);
    expect(paused.stdout.trim()).toBe(`paused schedule drill-${name} (note kept: by file)`);
    expect((await s.describeSchedule(`drill-${name}`)).state.paused).toBe(true);
    expect((await s.describeSchedule(`backup-${name}`)).state.paused).toBe(false);
    const unpaused = await cli('drill', 'unpause', name);
    expect([unpaused.code, unpaused.stdout.trim()]).toEqual([0, `unpaused schedule drill-${name}`]);
    const byFile = await cli('backup', 'pause', file, '--json');
    expect(JSON.parse(byFile.stdout)).toEqual({ scheduleId: `backup-${name}`, control: 'pause', actor: 'sre-on-call' });
  });

  it('answers an unknown schedule or runbook with not found, listing the schedules of that kind', async () => {
    const { name } = await s.scheduled('unknown');
    await s.listedSchedule('backup', `backup-${name}`);
    const unknown = await cli('drill', 'trigger', 'orders-nowhere');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toMatch(/^golive: no drill schedule orders-nowhere; the drill schedules are drill-[a-z0-9-]+(, drill-[a-z0-9-]+)*( and \d+ more)? \(`golive drill schedules` lists them\)$/);
    const asJson = await cli('backup', 'pause', 'orders-nowhere', '--json');
    expect(asJson.code).toBe(2);
    expect(JSON.parse(asJson.stdout)).toMatchObject({ error: { code: 'not_found', message: expect.stringMatching(/^no backup schedule orders-nowhere; the backup schedules are backup-/) } });
    const file = await s.runbookFile(uniqueId('unscheduled'));
    const unscheduled = await cli('drill', 'pause', file);
    expect(unscheduled.code).toBe(2);
    expect(unscheduled.stderr).toMatch(new RegExp(`^golive: no drill schedule drill-unscheduled-\\w+ \\(the drill schedule of ${file.replace(/[.]/g, '\\.')}\\); the drill schedules are `));
  });
});

describe('golive backup schedules and golive drill schedules', () => {
  it('each lists only its own kind, as {"schedules": [...]} with --json and as a table without', async () => {
    const { name } = await s.scheduled('lists');
    const backups = await s.listed('backup');
    const drills = await s.listed('drill');
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
    const file = await s.runbookFile(name);
    const id = `drill-${name}`;
    s.created.add(id);
    const first = await cli('drill', 'schedule', file, '--cron', '30 3 * * *', '--timezone', 'Europe/Berlin', '--fresh-backup');
    expect(first.stdout).toMatch(new RegExp(`^created schedule ${id}; next runs: `));

    const cronOnly = await cli('drill', 'schedule', file, '--cron', '0 4 * * *');
    expect(cronOnly.stdout).toMatch(new RegExp(`^updated schedule ${id}; kept --timezone Europe/Berlin, --fresh-backup \\(give them to change them\\); next runs: \\S+T0[23]:00:00\\.000Z`));
    const nothing = await cli('drill', 'schedule', file, '--json');
    expect(JSON.parse(nothing.stdout)).toMatchObject({ scheduleId: id, created: false, kept: { cron: '0 4 * * *', timezone: 'Europe/Berlin', freshBackup: true } });
    let pinned = await s.describeSchedule(id);
    expect([pinned.spec.timezone, pinned.spec.calendars?.map((calendar) => calendar.comment)]).toEqual(['Europe/Berlin', ['0 4 * * *']]);
    expect(JSON.stringify(pinned.action.args)).toContain('"freshBackup":true');

    const replaced = await cli('drill', 'schedule', file, '--timezone', 'UTC', '--no-fresh-backup');
    expect(replaced.stdout).toMatch(new RegExp(`^updated schedule ${id}; kept --cron "0 4 \\* \\* \\*" \\(give it to change it\\); next runs: \\S+T04:00:00\\.000Z`));
    pinned = await s.describeSchedule(id);
    expect(pinned.spec.timezone).toBe('UTC');
    expect(JSON.stringify(pinned.action.args)).not.toContain('freshBackup');

    const none = await cli('backup', 'schedule', file);
    expect(none.code).toBe(2);
    expect(none.stderr.trim()).toBe(`golive: cannot schedule backups of ${name}: there is no schedule backup-${name} yet, so give --cron, like --cron "0 3 * * *" (03:00 every day)`);
  });
});

describe('every control keeps its own note', () => {
  it('keeps who, when, which schedule, which control and the note of each pause, unpause, trigger and delete, and shows the newest', async () => {
    const { name } = await s.scheduled('notes');
    const id = `backup-${name}`;
    expect((await cli('backup', 'pause', id, '--as', 'ana', '--comment', 'disk full on the store')).code).toBe(0);
    expect((await cli('backup', 'pause', id, '--as', 'bob', '--comment', 'and the vendor is patching')).code).toBe(0);
    expect((await cli('backup', 'unpause', id, '--as', 'ana')).code).toBe(0);
    const notes = (await s.listedSchedule('backup', id)).notes;
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
    s.created.delete(id);
    const { rows } = await s.harness.pool.query<{ actor: string; channel: string; action: string; detail: { note?: string } }>(
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
    expect((await s.harness.pool.query('SELECT 1 FROM admin_events WHERE subject = $1', [id])).rowCount).toBe(4);
  });
});
