import {
  ActivityCancellationType, allHandlersFinished, CancellationScope, condition, isCancellation, proxyActivities, workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.ts';
import { failedAssertions } from '../definitions/assertions.ts';
import {
  checklistRunState, evidenceFailure, gateVerdict, initialItems, isOpen, signOffGates, summarize, summarizeEvidence,
} from '../definitions/checklist-record.ts';
import { durationMs } from '../definitions/duration.ts';
import type { ActionStep } from '../definitions/schema.ts';
import { registerChecklistControls } from './checklist-controls.ts';
import {
  DEFAULT_SIGN_OFF_TIMEOUT,
  type ApprovalDecision, type Channel, type ChecklistItemRecord, type ChecklistRecord, type ChecklistRunInput, type ControlRequest,
} from './definitions.ts';
import { describeFailure } from './failures.ts';
import { AuditProjection } from './projection.ts';
import { actionOptions, PRESETS } from './presets.ts';
import { actionRequest } from './step-kinds.ts';
import { Judging } from './judging.ts';

/**
 * The go-live gate: one run of a checklist for one service. Automatic items run their check
 * action, a few at a time, and are judged on its evidence; sign-off items are all open at once
 * for a person holding one of the item's approver roles who is not the requester; a release
 * manager may waive a failed or open item, with a reason. The run ends once every item is
 * decided, at the sign-off deadline (open items then fail), or on abort.
 *
 * For a parent workflow (the rollout): the workflow RETURNS the record whatever the verdict, and
 * never fails for a gate that did not pass. Read `status` ('passed' | 'failed' | 'aborted') and
 * `reason`; only a bug or a cancellation ends it otherwise.
 */
export async function checklistWorkflow(input: ChecklistRunInput): Promise<ChecklistRecord> {
  const run = new ChecklistRun(input, workflowInfo().workflowId);
  registerChecklistControls(run);
  await run.execute();
  await CancellationScope.nonCancellable(async () => {
    await condition(allHandlersFinished);
    await run.projection.close();
  });
  return run.record;
}

type Activities = ReturnType<typeof createActivities>;
const { preflight } = proxyActivities<Activities>(PRESETS.preflight);

/** How many automatic checks run at once: enough to be quick, few enough not to load the service being judged. */
const CHECKS_AT_ONCE = 4;

const now = () => new Date().toISOString();

interface AuditOptions {
  actor?: string;
  channel?: Channel;
  stepId?: string;
  detail?: Record<string, unknown>;
  approval?: ApprovalDecision;
}

/** One checklist run's state machine; controls (checklist-controls.ts) change the fields marked "control". */
export class ChecklistRun {
  readonly record: ChecklistRecord;
  readonly projection: AuditProjection;
  /** control: set once someone aborts. */
  abortRequest?: ControlRequest;
  private readonly controls = new Judging();
  private seq = 0;

  constructor(readonly input: ChecklistRunInput, runId: string) {
    const startedAt = now();
    const timeout = input.signOffTimeout ?? DEFAULT_SIGN_OFF_TIMEOUT;
    const items = initialItems(input.checklist);
    this.record = {
      runId,
      checklist: input.checklist.metadata.name,
      service: input.service,
      requestedBy: input.requestedBy,
      status: 'running',
      startedAt,
      deadline: new Date(Date.parse(startedAt) + durationMs(timeout)).toISOString(),
      rollout: input.rollout,
      summary: summarize(items),
      items,
    };
    this.projection = new AuditProjection(() => ({ kind: 'checklist', state: checklistRunState(this.record), checklist: this.record }), input.slackChannel);
  }

  get finished(): boolean {
    return this.record.status !== 'running';
  }

  item(id: string): ChecklistItemRecord | undefined {
    return this.record.items.find((item) => item.id === id);
  }

  /** Runs a control's judgement; until it settles, no new check starts and the run does not end. */
  judging<T>(work: () => Promise<T>): Promise<T> {
    return this.controls.run(work);
  }

  /** Appends one audit event with the record as it is now; written to Postgres in the background. */
  audit(action: string, options: AuditOptions = {}): void {
    this.record.summary = summarize(this.record.items);
    const event = { runId: this.record.runId, seq: ++this.seq, at: now(), actor: options.actor ?? 'golive', channel: options.channel, action, stepId: options.stepId, detail: options.detail };
    this.projection.append(event, options.approval);
  }

  /** Closes an item with its outcome; a waived item stays waived, with what its check found. */
  settle(item: ChecklistItemRecord, fields: Partial<ChecklistItemRecord>): void {
    const finishedAt = now();
    const durationMs = item.startedAt === undefined ? undefined : Date.parse(finishedAt) - Date.parse(item.startedAt);
    Object.assign(item, { finishedAt, durationMs, ...fields });
  }

  async execute(): Promise<void> {
    const { input } = this;
    this.audit('run.started', {
      actor: input.requestedBy,
      channel: input.channel,
      detail: { checklist: this.record.checklist, service: input.service, source: input.source, comment: input.comment, deadline: this.record.deadline, rollout: input.rollout },
    });
    let failure: string | undefined;
    try {
      failure = await this.preflight();
      await this.controls.settled();
      if (failure === undefined && !this.abortRequest) await this.decideItems();
    } catch (error) {
      if (!isCancellation(error)) throw error;
      this.abortRequest ??= { actor: 'temporal', channel: 'cli', comment: 'the workflow was cancelled' };
    }
    await CancellationScope.nonCancellable(async () => this.finish(failure));
  }

  /** Every target resolves on the worker, and every sign-off has someone besides the requester to give it. */
  private async preflight(): Promise<string | undefined> {
    const { checklist } = this.input;
    try {
      const checked = await preflight({ runId: this.record.runId, requestedBy: this.record.requestedBy, targets: checklist.spec.targets, gates: signOffGates(checklist) });
      this.audit('run.preflight', { detail: { ok: true, ...checked } });
      return undefined;
    } catch (error) {
      if (isCancellation(error)) throw error;
      const reason = `pre-flight failed before any item was checked: ${describeFailure(error)}`;
      this.audit('run.preflight', { detail: { ok: false, error: reason } });
      return reason;
    }
  }

  /** Opens every sign-off, runs the checks, and waits until all is decided, the deadline, or an abort. */
  private async decideItems(): Promise<void> {
    // A sign-off waived during pre-flight stays waived.
    const signOffs = this.record.items.filter((item) => item.verification === 'sign-off' && item.status === 'pending');
    for (const item of signOffs) Object.assign(item, { status: 'waiting-sign-off', startedAt: now() });
    if (signOffs.length > 0) {
      this.audit('signoff.requested', { detail: { items: signOffs.map((item) => ({ id: item.id, approvers: item.approvers })), deadline: this.record.deadline } });
    }
    const scope = new CancellationScope();
    const checking = scope.run(() => this.runChecks()).catch((error: unknown) => {
      if (!isCancellation(error)) throw error;
    });
    const left = Math.max(1, Date.parse(this.record.deadline) - Date.now());
    try {
      await condition(() => this.record.items.every((item) => !isOpen(item)) || this.abortRequest !== undefined, left);
    } finally {
      // Checks still running at the deadline or an abort stop here; finish() closes their items.
      scope.cancel();
      await checking;
    }
  }

  private async runChecks(): Promise<void> {
    const queue = this.input.checklist.spec.phases.flatMap((phase) => phase.items.flatMap((item) => (item.check?.kind === 'action' ? [{ id: item.id, check: item.check }] : [])));
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        await this.controls.settled();
        if (this.abortRequest) return;
        const item = this.item(next.id);
        // An item waived before its turn is not checked: nothing it found would change the verdict.
        if (item?.status === 'pending') await this.check(item, { ...next.check, id: item.id });
      }
    };
    // Settled, not all: the run closes open items only once no check can still change one.
    const outcomes = await Promise.allSettled(Array.from({ length: Math.min(CHECKS_AT_ONCE, queue.length) }, worker));
    const broken = outcomes.find((outcome) => outcome.status === 'rejected' && !isCancellation(outcome.reason));
    if (broken?.status === 'rejected') throw broken.reason;
  }

  /** Runs one automatic item's action; the result is its evidence, judged by its assertions and `ok: false`. */
  private async check(item: ChecklistItemRecord, step: ActionStep): Promise<void> {
    Object.assign(item, { status: 'checking', startedAt: now() });
    const { runId, requestedBy, service } = this.record;
    const request = actionRequest(step, { runId, requestedBy, service, targets: this.input.checklist.spec.targets, results: {} });
    // A check changes nothing, so an abort or the deadline need not wait for it to stop.
    const activities = proxyActivities<Activities>({ ...actionOptions(step, 'steps'), cancellationType: ActivityCancellationType.TRY_CANCEL });
    let evidence: unknown;
    let reason: string | undefined;
    try {
      evidence = await activities[step.action](request);
      reason = [...failedAssertions(step.assert, evidence), evidenceFailure(evidence)].filter((text) => text !== undefined).join('; ') || undefined;
    } catch (error) {
      if (isCancellation(error)) return;
      reason = describeFailure(error);
    }
    const waived = item.status === 'waived';
    this.settle(item, { evidence, reason, status: waived ? 'waived' : reason === undefined ? 'passed' : 'failed' });
    const detail = { action: step.action, evidence: summarizeEvidence(evidence), durationMs: item.durationMs, waived: waived || undefined };
    if (reason === undefined) this.audit('item.checked', { stepId: item.id, detail });
    else this.audit('item.failed', { stepId: item.id, detail: { ...detail, reason } });
  }

  /** Fails what is still open (saying why), then gives the gate's verdict. */
  private finish(preflightFailure: string | undefined): void {
    const abort = this.abortRequest;
    const aborted = abort && `aborted by ${abort.actor}${abort.comment ? `: ${abort.comment}` : ''}`;
    if (preflightFailure === undefined) {
      for (const item of this.record.items.filter(isOpen)) {
        const reason = aborted
          ? `not decided: the run was ${aborted}`
          : item.verification === 'automatic' ? `the check did not finish by ${this.record.deadline}` : `no sign-off by ${this.record.deadline}`;
        this.settle(item, { status: 'failed', reason });
        this.audit('item.failed', { stepId: item.id, detail: { reason } });
      }
    }
    const verdict = gateVerdict(this.record.items);
    this.record.status = aborted ? 'aborted' : preflightFailure === undefined && verdict.passed ? 'passed' : 'failed';
    this.record.reason = aborted ?? preflightFailure ?? verdict.reason;
    this.record.finishedAt = now();
    this.audit('run.finished', { detail: { status: this.record.status, reason: this.record.reason, summary: summarize(this.record.items) } });
  }
}
