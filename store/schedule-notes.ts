import type pg from 'pg';
import type { Actor } from './identity.ts';
import { inTransaction } from './transaction.ts';

/** A control on a backup or drill schedule, as kept in admin_events (`schedule.pause`, `schedule.trigger`, …). */
export interface ScheduleNote {
  at: string;
  actor: string;
  channel: string;
  scheduleId: string;
  control: string;
  /** What the actor said (--comment); absent when they said nothing. */
  note?: string;
  /** A trigger of a paused schedule, given --force. */
  forced?: boolean;
}

export interface ScheduleNoteInput {
  scheduleId: string;
  control: string;
  note?: string;
  forced?: boolean;
}

/**
 * Temporal keeps one note per schedule, the last; golive keeps every control and its note in the
 * append-only admin_events, so a second pause never hides why the first one happened.
 */
export interface ScheduleNotes {
  /** Writes the note in one transaction with `apply`: a control that fails leaves no note. */
  record(input: ScheduleNoteInput, actor: Actor, apply: () => Promise<void>): Promise<void>;
  /** Each schedule's newest notes, newest first, at most `perSchedule` each. */
  recent(scheduleIds: readonly string[], perSchedule: number): Promise<Map<string, ScheduleNote[]>>;
}

const ACTION_PREFIX = 'schedule.';

interface NoteRow {
  at: Date;
  actor: string;
  channel: string;
  action: string;
  subject: string;
  detail: { note?: unknown; forced?: unknown };
}

const scheduleNote = (row: NoteRow): ScheduleNote => ({
  at: row.at.toISOString(),
  actor: row.actor,
  channel: row.channel,
  scheduleId: row.subject,
  control: row.action.slice(ACTION_PREFIX.length),
  ...(typeof row.detail.note === 'string' ? { note: row.detail.note } : {}),
  ...(row.detail.forced === true ? { forced: true } : {}),
});

export function createPgScheduleNotes(pool: pg.Pool): ScheduleNotes {
  return {
    record: ({ scheduleId, control, note, forced }, actor, apply) =>
      inTransaction(pool, async (client) => {
        await client.query('INSERT INTO admin_events (actor, channel, action, subject, detail) VALUES ($1, $2, $3, $4, $5)', [
          actor.name, actor.channel, `${ACTION_PREFIX}${control}`, scheduleId, JSON.stringify({ note, forced }),
        ]);
        await apply();
      }),

    async recent(scheduleIds, perSchedule) {
      const { rows } = await pool.query<NoteRow>(
        `SELECT at, actor, channel, action, subject, detail FROM (
           SELECT *, row_number() OVER (PARTITION BY subject ORDER BY id DESC) AS newest
           FROM admin_events WHERE subject = ANY($1::text[]) AND starts_with(action, $2)) notes
         WHERE newest <= $3 ORDER BY subject, id DESC`,
        [[...scheduleIds], ACTION_PREFIX, perSchedule],
      );
      const notes = new Map<string, ScheduleNote[]>(scheduleIds.map((id) => [id, []]));
      for (const row of rows) notes.get(row.subject)?.push(scheduleNote(row));
      return notes;
    },
  };
}
