import { CancellationScope, condition, log, ParentClosePolicy, patched, proxyActivities, startChild, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.ts';
import {
  AUDIT_CATCH_UP_WORKFLOW,
  type ApprovalDecision, type AuditCatchUpInput, type ProjectionProgress, type AuditEvent, type DrillRecord, type ProjectionBatch, type RunKind, type RunState,
} from './definitions.ts';
import { PRESETS } from './presets.ts';
import { RunMessage } from './run-message.ts';

type Activities = ReturnType<typeof createActivities>;

/** A kind's own record (a failover's, a rollout's, a checklist run's), sent as it stands with every batch. */
export type RunRecords = Partial<Pick<ProjectionBatch, 'failover' | 'rollout' | 'checklist'>>;
const { projectRun } = proxyActivities<Activities>(PRESETS.projection);

/**
 * A run's audit trail, kept in the workflow (so in Temporal's history) and projected into
 * golive's Postgres in the background. The run never waits for a write: while Postgres is away,
 * one write is retried by Temporal and new events queue up behind it; when it returns, they
 * land in one batch, in order. A finished run hands what is still unwritten to a catch-up
 * workflow, so it completes even when golive's own Postgres is down.
 */
export class AuditProjection {
  private readonly events: AuditEvent[] = [];
  private readonly approvals: ApprovalDecision[] = [];
  private drill?: DrillRecord;
  private written = { events: 0, approvals: 0, drill: false };
  private pumping = false;
  private broken?: string;
  /** The run's Slack message, fed the same events, when the run has a channel. */
  private readonly message?: RunMessage;

  constructor(private readonly run: () => { kind: RunKind; state: RunState } & RunRecords, slackChannel?: string) {
    // Runs started before golive kept Slack messages carry a channel their history never used.
    if (slackChannel !== undefined && patched('run-message')) this.message = new RunMessage(slackChannel, run);
  }

  progress(): ProjectionProgress {
    return { recorded: this.events.length, written: this.written.events, broken: this.broken };
  }

  append(event: AuditEvent, approval?: ApprovalDecision): void {
    this.events.push(event);
    if (approval) this.approvals.push(approval);
    // Writes belong to the run, not to the step that recorded them: a cancelled step must not cancel them.
    void CancellationScope.nonCancellable(() => this.pump());
    this.message?.append(event);
  }

  /** A finished drill goes to Postgres with the run's last events. */
  appendDrill(record: DrillRecord): void {
    this.drill = record;
    void CancellationScope.nonCancellable(() => this.pump());
  }

  private get idle(): boolean {
    return !this.pumping && this.pending().events.length === 0 && !this.pending().drill;
  }

  private pending(): Omit<ProjectionBatch, 'execution' | 'run'> {
    return {
      events: this.events.slice(this.written.events),
      approvals: this.approvals.slice(this.written.approvals),
      drill: this.written.drill ? undefined : this.drill,
    };
  }

  private batch(): ProjectionBatch {
    const { kind, state, ...records } = JSON.parse(JSON.stringify(this.run())) as ProjectionBatch['run'] & RunRecords;
    return { execution: workflowInfo().runId, run: { kind, state }, ...records, ...this.pending() };
  }

  private async pump(): Promise<void> {
    if (this.pumping || this.broken) return;
    this.pumping = true;
    try {
      while (this.pending().events.length > 0 || this.pending().drill) {
        const batch = this.batch();
        await projectRun(batch);
        this.written = {
          events: this.written.events + batch.events.length,
          approvals: this.written.approvals + batch.approvals.length,
          drill: this.written.drill || batch.drill !== undefined,
        };
      }
    } catch (error) {
      this.broken = error instanceof Error ? error.message : String(error);
      log.error('the audit trail could not be written; the catch-up workflow will report it', { runId: this.run().state.runId, error: this.broken });
    } finally {
      this.pumping = false;
    }
  }

  /**
   * Called once the run has finished: waits a few seconds for the last writes, then hands what
   * is still unwritten to a detached catch-up workflow (and as long for the Slack message to
   * show how the run ended). True when everything is written here.
   */
  async close(options: Pick<AuditCatchUpInput, 'announce' | 'announceChannel'> = {}): Promise<boolean> {
    const [written] = await Promise.all([this.closeTrail(options), this.message?.close()]);
    return written;
  }

  private async closeTrail(options: Pick<AuditCatchUpInput, 'announce' | 'announceChannel'>): Promise<boolean> {
    if (await condition(() => this.idle || this.broken !== undefined, PRESETS.projectionGraceMs)) {
      if (!this.broken) return true;
    }
    const input: AuditCatchUpInput = { batch: this.batch(), announce: options.announce, announceChannel: options.announceChannel };
    const { workflowId, runId } = workflowInfo();
    await startChild(AUDIT_CATCH_UP_WORKFLOW, {
      workflowId: `${workflowId}-audit-${runId.slice(0, 8)}`,
      args: [input],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
    log.warn('golive\'s Postgres did not take the last audit writes in time; a catch-up workflow will write them when it answers', { runId: workflowId, unwritten: input.batch.events.length });
    return false;
  }
}
