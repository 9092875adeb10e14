import type pg from 'pg';

/** Where a run's Slack message lives, and how far its thread has followed the run's audit trail. */
export interface RunMessageRow {
  runId: string;
  channel: string;
  /** The message's timestamp: its id in the channel. */
  ts: string;
  /** The last audit event (seq) the thread has followed; the events after it are still to reply. */
  threadSeq: number;
}

/**
 * One Slack message per run. `save` keeps the first message stored for a run: two syncs racing
 * (a retry beside an attempt Temporal gave up on) both read back the same ts, and the loser
 * knows its own post is the one too many.
 */
export interface SlackMessageStore {
  get(runId: string): Promise<RunMessageRow | undefined>;
  /** Stores the run's message unless one is stored already; answers the one that is stored. */
  save(message: { runId: string; channel: string; ts: string }): Promise<RunMessageRow>;
  /** Moves the thread on to `seq` (never back); also marks the message updated. */
  advanceThread(runId: string, seq: number): Promise<void>;
  /** Forgets the run's message `ts` (someone deleted it in Slack), so the next sync posts a new one. */
  forget(runId: string, ts: string): Promise<void>;
}

interface Row {
  run_id: string;
  channel: string;
  ts: string;
  thread_seq: number;
}

const toMessage = (row: Row): RunMessageRow => ({ runId: row.run_id, channel: row.channel, ts: row.ts, threadSeq: row.thread_seq });

export function createPgSlackMessageStore(pool: pg.Pool): SlackMessageStore {
  const get = async (runId: string) => {
    const { rows } = await pool.query<Row>('SELECT run_id, channel, ts, thread_seq FROM slack_messages WHERE run_id = $1', [runId]);
    return rows[0] && toMessage(rows[0]);
  };
  return {
    get,
    async save({ runId, channel, ts }) {
      await pool.query('INSERT INTO slack_messages (run_id, channel, ts) VALUES ($1, $2, $3) ON CONFLICT (run_id) DO NOTHING', [runId, channel, ts]);
      const stored = await get(runId);
      if (stored === undefined) throw new Error(`the Slack message of run ${runId} was not kept: its row vanished right after it was written`);
      return stored;
    },
    async forget(runId, ts) {
      await pool.query('DELETE FROM slack_messages WHERE run_id = $1 AND ts = $2', [runId, ts]);
    },
    async advanceThread(runId, seq) {
      await pool.query('UPDATE slack_messages SET thread_seq = GREATEST(thread_seq, $2), updated_at = now() WHERE run_id = $1', [runId, seq]);
    },
  };
}
