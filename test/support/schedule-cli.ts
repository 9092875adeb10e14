import type { ScheduleDescription } from '@temporalio/client';
import { expect } from 'vitest';
import { applyControl } from '../../runtime/schedule-controls.ts';
import { uniqueId } from './db.ts';
import { startDrCli, type DrCli } from './dr-cli.ts';
import { until } from './poll.ts';

export type ScheduleKind = 'backup' | 'drill';

export interface ListedNote {
  actor: string;
  control: string;
  note?: string;
  forced?: boolean;
  at: string;
}

/** A schedule as `golive KIND schedules --json` lists it. */
export interface Listed {
  scheduleId: string;
  kind: string;
  cron: string;
  timezone?: string;
  paused: boolean;
  lastRun?: { runId: string };
  notes: ListedNote[];
}

/** The DR shell of dr-cli.ts, plus the schedules a test made (deleted on close) and ways to look at them. */
export interface ScheduleCli extends DrCli {
  /** Schedule ids to delete when the test file ends. */
  created: Set<string>;
  /** A new runbook file with a schedule of each kind (02:00 and 04:00 every day, so nothing fires during the test). */
  scheduled(prefix: string): Promise<{ name: string; file: string }>;
  describeSchedule(id: string): Promise<ScheduleDescription>;
  /** What a refused control must leave as it was: pause state, note, actions taken. */
  scheduleState(id: string): Promise<{ paused: boolean; note?: string; actions: number }>;
  listed(kind: ScheduleKind): Promise<Listed[]>;
  /** The schedule as the listing shows it, once it does. */
  listedSchedule(kind: ScheduleKind, id: string): Promise<Listed>;
}

export async function startScheduleCli(prefix: string): Promise<ScheduleCli> {
  const dr = await startDrCli(prefix, 500);
  const created = new Set<string>();
  const describeSchedule = (id: string) => dr.harness.client.schedule.getHandle(id).describe();
  const listed = async (kind: ScheduleKind) => {
    const result = await dr.cli(kind, 'schedules', '--json');
    expect(result.code, result.stderr).toBe(0);
    const answer = JSON.parse(result.stdout) as { schedules: Listed[] };
    expect(Object.keys(answer)).toEqual(['schedules']);
    return answer.schedules;
  };
  return {
    ...dr,
    created,
    describeSchedule,
    listed,
    async scheduled(name) {
      const unique = uniqueId(name);
      const file = await dr.runbookFile(unique);
      for (const kind of ['backup', 'drill']) {
        const result = await dr.cli(kind, 'schedule', file, '--cron', kind === 'backup' ? '0 2 * * *' : '0 4 * * *');
        expect(result.code, result.stderr).toBe(0);
        created.add(`${kind}-${unique}`);
      }
      return { name: unique, file };
    },
    async scheduleState(id) {
      const description = await describeSchedule(id);
      return { paused: description.state.paused, note: description.state.note, actions: description.info.recentActions.length };
    },
    listedSchedule: (kind, id) =>
      until(async () => (await listed(kind)).find((schedule) => schedule.scheduleId === id), 10_000, `${id} was not listed by golive ${kind} schedules`, 200),
    async close() {
      for (const id of created) await applyControl(dr.harness.client, id, 'delete', 'test done').catch(() => undefined);
      await dr.close();
    },
  };
}
