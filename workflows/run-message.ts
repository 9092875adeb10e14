import { ActivityFailure, ApplicationFailure, CancellationScope, condition, log, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.ts';
import type { AuditEvent, RunKind, RunMessageSync, RunState } from './definitions.ts';
import { PRESETS } from './presets.ts';
import type { RunRecords } from './projection.ts';

type Activities = ReturnType<typeof createActivities>;
const { syncRunMessage } = proxyActivities<Activities>(PRESETS.runMessage);

/** Why Slack will not take this run's message however often it is asked (a wrong channel, a bot not in it, a revoked token). */
function refusal(error: unknown): string | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof ApplicationFailure && cause.type === 'SlackRejected' ? cause.message : undefined;
}

/**
 * A run's Slack message, kept up to date in the background like the audit trail: every recorded
 * event asks for a sync, at most one sync is in flight, and when it returns the next one carries
 * the run as it stands then and every event the thread has not followed yet. The run never waits
 * for Slack and never fails because of it: a sync that keeps failing is tried again with the next
 * event, and a refusal (SlackRejected) ends the mirroring of this run, logged once.
 */
export class RunMessage {
  /** The run's first event (run.started): every sync carries it, since it says how the run was started. */
  private first?: AuditEvent;
  private unconfirmed: AuditEvent[] = [];
  private dirty = false;
  private syncing = false;
  private stopped?: string;

  constructor(private readonly channel: string, private readonly run: () => { kind: RunKind; state: RunState } & RunRecords) {}

  append(event: AuditEvent): void {
    if (this.stopped) return;
    this.first ??= event;
    this.unconfirmed.push(event);
    this.dirty = true;
    // Syncs belong to the run, not to the step that recorded the event: a cancelled step must not cancel them.
    void CancellationScope.nonCancellable(() => this.pump());
  }

  private snapshot(): RunMessageSync {
    const { kind, state, ...records } = JSON.parse(JSON.stringify(this.run())) as { kind: RunKind; state: RunState } & RunRecords;
    const first = this.first && !this.unconfirmed.includes(this.first) ? [this.first] : [];
    return { channel: this.channel, run: { kind, state }, ...records, events: [...first, ...this.unconfirmed] };
  }

  private async pump(): Promise<void> {
    if (this.syncing || this.stopped) return;
    this.syncing = true;
    try {
      while (this.dirty && !this.stopped) {
        this.dirty = false;
        const input = this.snapshot();
        try {
          const answer = await syncRunMessage(input);
          if (!answer.posted) {
            this.stop(answer.reason);
            break;
          }
          this.unconfirmed = this.unconfirmed.filter((event) => event.seq > answer.threadSeq);
        } catch (error) {
          const refused = refusal(error);
          if (refused !== undefined) {
            this.stop(refused);
            break;
          }
          // Slack stayed away for every attempt: the next event tries again, with everything since.
          log.warn('the run\'s Slack message could not be brought up to date; the next event tries again', { runId: input.run.state.runId, error: String(error) });
          break;
        }
      }
    } finally {
      this.syncing = false;
    }
  }

  private stop(reason: string): void {
    this.stopped = reason;
    this.unconfirmed = [];
    log.warn('the run has no Slack message from here on', { runId: this.run().state.runId, channel: this.channel, reason });
  }

  /** Once the run has finished: a few seconds for the message to show how it ended. */
  async close(): Promise<void> {
    await condition(() => this.stopped !== undefined || (!this.syncing && !this.dirty), PRESETS.runMessageGraceMs);
  }
}
