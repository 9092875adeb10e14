/**
 * A run's Slack message: one per run, in the service's channel, updated in place as the run goes
 * on, with step updates in its thread. Clients import these shapes through definitions.ts.
 */
import type { AuditEvent, ProjectionBatch } from './definitions.ts';

/** What the workflow hands the `syncRunMessage` activity: the run as it stands, and the events not yet in the thread. */
export interface RunMessageSync {
  /** The channel ID the message lives in (the definition's metadata.slack.channel, else where the run was started from). */
  channel: string;
  /** The run's kind, state and record, as every audit batch carries them. */
  run: ProjectionBatch['run'];
  failover?: ProjectionBatch['failover'];
  rollout?: ProjectionBatch['rollout'];
  checklist?: ProjectionBatch['checklist'];
  /**
   * The run's events after the last one this activity confirmed; the activity posts the ones worth a thread reply.
   * The run's first event (run.started) comes with every sync: it says how the run was started.
   */
  events: AuditEvent[];
}

/** What the activity did: the message's timestamp (its id in Slack), or why there is none. */
export type RunMessageAnswer =
  | { posted: true; channel: string; ts: string; threadSeq: number }
  | { posted: false; reason: string };
