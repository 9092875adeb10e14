import { CancellationScope, condition, isCancellation } from '@temporalio/workflow';
import { IRREVERSIBLE_ACTIONS } from '../definitions/failover-record.ts';
import type { RunPlan, Step } from '../definitions/schema.ts';
import {
  FINISHED,
  type ApprovalDecision, type Channel, type ControlRequest, type RunbookRunInput, type RunState, type RunStatus, type StepState,
} from './definitions.ts';
import { describeFailure, interruptedDetails, StepFailure } from './failures.ts';
import { AuditProjection } from './projection.ts';
import { withheldRollback } from './withheld.ts';
import { awaitApproval, awaitPause, initialRunState, initialState, performAction, preflightRun, startDetail, type Phase } from './step-kinds.ts';
import type { RunOptions } from './run-options.ts';
import { Judging } from './judging.ts';
/** `maybeApplied`: the step was stopped while its action ran; its compensation must run. */
type Outcome = { kind: 'succeeded' | 'skipped' | 'aborted'; maybeApplied?: boolean } | { kind: 'failed'; reason: string };

const START_EVENT = { action: 'step.started', approval: 'approval.requested', pause: 'pause.started' } as const;
const END_EVENT = { action: 'step.succeeded', approval: undefined, pause: 'pause.ended' } as const;

const now = () => new Date().toISOString();

interface RecordOptions {
  actor?: string;
  channel?: Channel;
  stepId?: string;
  detail?: Record<string, unknown>;
  approval?: ApprovalDecision;
}

/**
 * One run of a runbook: pre-flight, the steps in order, then, on failure or abort, the
 * compensations of the steps that succeeded or were interrupted, in reverse. Controls
 * (controls.ts) change the fields marked "control"; a control still being judged holds the next
 * side effect back, so whatever it decides is honoured first.
 */
export class RunbookRun {
  readonly state: RunState;
  readonly runbook: RunPlan;
  /** control: decisions on approval gates, by step id. */
  readonly decisions = new Map<string, ApprovalDecision>();
  /** Gates that closed without a decision, and why: a late approval is refused, not acknowledged. */
  readonly closedGates = new Map<string, string>();
  /** control: steps someone asked to skip. */
  readonly skipRequests = new Map<string, ControlRequest>();
  /** control: set once someone aborts. */
  abortRequest?: ControlRequest;
  /** control: ends the current pause step early. */
  resumeRequested = false;
  readonly projection: AuditProjection;
  private readonly controls = new Judging();
  private stepScope?: CancellationScope;
  private seq = 0;
  /** Each finished step's result, by id: what `{{steps.STEP.PATH}}` reads. */
  readonly results: Record<string, unknown> = {};
  /** The irreversible step (a promotion) that may have applied its change: from then on nothing is rolled back. */
  pointOfNoReturn?: string;

  /** control: set when the run must stop as failed and roll back (a guard breach, a rollback control). */
  failRequest?: { reason: string; actor: string };

  constructor(readonly input: Omit<RunbookRunInput, 'runbook'> & { runbook: RunPlan }, runId: string, readonly options: RunOptions = { kind: 'runbook' }) {
    this.runbook = input.runbook;
    this.state = initialRunState(input.runbook, runId, input.requestedBy);
    this.projection = new AuditProjection(() => ({ kind: this.options.kind, state: this.state, ...this.options.records?.(this) }), input.slackChannel);
  }

  get finished(): boolean {
    return FINISHED.includes(this.state.status);
  }

  /** The step with this id, in either phase. */
  findStep(stepId: string): { step: Step; state?: StepState } | undefined {
    const step = [...this.runbook.spec.steps, ...this.runbook.spec.rollback].find((candidate) => candidate.id === stepId);
    const state = [...this.state.steps, ...this.state.rollback].find((candidate) => candidate.id === stepId);
    return step && { step, state };
  }

  currentState(): StepState | undefined {
    return this.state.currentStep === undefined ? undefined : this.findStep(this.state.currentStep)?.state;
  }

  /** Cancels what the current step is waiting for (an activity, a gate, a pause). */
  interruptCurrentStep(): void {
    this.stepScope?.cancel();
  }

  /** Runs a control's judgement; until it settles, the run starts no new side effect. */
  judging<T>(work: () => Promise<T>): Promise<T> {
    return this.controls.run(work);
  }

  /** Appends one audit event with the run's state as it is now; written to Postgres in the background. */
  record(action: string, options: RecordOptions = {}): void {
    const event = { runId: this.state.runId, seq: ++this.seq, at: now(), actor: options.actor ?? 'golive', channel: options.channel, action, stepId: options.stepId, detail: options.detail };
    this.projection.append(event, options.approval);
  }

  async execute(): Promise<void> {
    const { spec } = this.runbook;
    this.record('run.started', {
      actor: this.input.requestedBy,
      channel: this.input.channel,
      detail: { source: this.input.source, comment: this.input.comment, strategy: spec.strategy, objectives: spec.objectives },
    });
    const compensations = spec.rollback.filter((step) => step.compensates === undefined);
    let failure: string | undefined;
    try {
      failure = await preflightRun(this);
      if (failure === undefined && this.options.before) failure = await this.options.before(this);
      for (const step of failure === undefined ? spec.steps : []) {
        await this.beforeSideEffect();
        if (this.abortRequest || this.failRequest) break;
        const outcome = await this.runStep(step, 'steps');
        const applied = outcome.kind === 'succeeded' || (outcome.kind !== 'failed' && outcome.maybeApplied);
        if (applied) compensations.push(...spec.rollback.filter((undo) => undo.compensates === step.id));
        // A failed promotion may still complete on the server: it counts as applied.
        if (step.kind === 'action' && IRREVERSIBLE_ACTIONS.includes(step.action) && (applied || outcome.kind === 'failed')) this.pointOfNoReturn ??= step.id;
        if (outcome.kind === 'failed') failure = `step ${step.id} failed: ${outcome.reason}`;
        if (outcome.kind === 'failed' || outcome.kind === 'aborted') break;
      }
      if (this.failRequest && !this.abortRequest) failure = this.failRequest.reason;
    } catch (error) {
      if (!isCancellation(error)) throw error;
      this.abortRequest ??= { actor: 'temporal', channel: 'cli', comment: 'the workflow was cancelled' };
    }
    const verdict = failure === undefined && !this.abortRequest ? this.options.verdict?.(this.state) : undefined;
    if (verdict !== undefined) {
      this.record('run.verdict', { detail: { reason: verdict } });
      failure = verdict;
    }
    const due = verdict === undefined ? compensations.reverse() : [];
    const select = this.options.selectRollback;
    await CancellationScope.nonCancellable(() => this.finish(failure, select && due.length > 0 ? select(due, this.abortRequest ? 'aborted' : 'failed') : due));
  }

  /** Controls being judged land first; a paused run waits here. */
  private async beforeSideEffect(): Promise<void> {
    await this.controls.settled();
    if (this.state.paused && !this.abortRequest && !this.failRequest) {
      this.state.status = 'paused';
      const span = { from: now() };
      this.state.pauses.push(span);
      await condition(() => !this.state.paused || this.abortRequest !== undefined || this.failRequest !== undefined);
      Object.assign(span, { to: now() });
      this.state.status = 'running';
      await this.controls.settled();
    }
  }

  private async finish(failure: string | undefined, compensations: Step[]): Promise<void> {
    let status: RunStatus = 'succeeded';
    if (this.abortRequest) {
      status = 'aborted';
      this.state.reason = `aborted by ${this.abortRequest.actor}${this.abortRequest.comment ? `: ${this.abortRequest.comment}` : ''}`;
    } else if (failure) {
      status = 'failed';
      this.state.reason = failure;
    }
    if (status !== 'succeeded' && compensations.length > 0) {
      if (this.pointOfNoReturn) this.withholdRollback(compensations);
      else await this.rollback(compensations);
    }
    this.state.status = status;
    this.state.currentStep = undefined;
    this.state.finishedAt = now();
    this.record('run.finished', { detail: { status, reason: this.state.reason } });
  }

  /** After an irreversible step nothing is undone (workflows/withheld.ts); the run stops and says where things stand. */
  private withholdRollback(compensations: Step[]): void {
    const withheld = withheldRollback(this.state, this.pointOfNoReturn!, compensations);
    this.state.reason = `${this.state.reason}; ${withheld.reason}`;
    this.record('rollback.withheld', { detail: withheld.detail });
  }

  private async rollback(compensations: Step[]): Promise<void> {
    this.state.status = 'rolling-back';
    this.state.paused = false;
    this.record('rollback.started', { detail: { steps: compensations.map((step) => step.id) } });
    const failed: string[] = [];
    for (const step of compensations) {
      const outcome = await this.runStep(step, 'rollback');
      if (outcome.kind === 'failed') failed.push(`${step.id}: ${outcome.reason}`);
    }
    if (failed.length > 0) this.state.reason = `${this.state.reason}; rollback incomplete (${failed.join('; ')})`;
    this.record('rollback.finished', { detail: { failed } });
  }

  private async runStep(step: Step, phase: Phase): Promise<Outcome> {
    const stepState = this.stepState(step, phase);
    const skip = this.skipRequests.get(step.id);
    if (skip) return this.markSkipped(step, stepState, skip);
    Object.assign(stepState, { status: step.kind === 'action' ? 'running' : 'waiting', startedAt: now() });
    this.state.currentStep = step.id;
    if (phase === 'steps') this.state.status = { action: 'running', approval: 'waiting-approval', pause: 'paused' }[step.kind] as RunStatus;
    this.record(START_EVENT[step.kind], { stepId: step.id, detail: startDetail(step) });
    const scope = new CancellationScope();
    this.stepScope = scope;
    try {
      const result = await scope.run(() => this.perform(step, phase));
      this.results[step.id] = result;
      this.close(stepState, 'succeeded', { result });
      const end = END_EVENT[step.kind];
      if (end) this.record(end, { stepId: step.id, detail: { durationMs: stepState.durationMs } });
      return { kind: 'succeeded' };
    } catch (error) {
      return this.stepEndedEarly(step, stepState, error);
    } finally {
      this.stepScope = undefined;
      if (phase === 'steps' && !this.finished) this.state.status = 'running';
    }
  }

  private stepEndedEarly(step: Step, stepState: StepState, error: unknown): Outcome {
    if (isCancellation(error)) {
      // What an interrupted action knew (the state it changed from) is its result for the compensation.
      const known = interruptedDetails(error);
      if (known !== undefined) this.results[step.id] = known;
      const skip = this.skipRequests.get(step.id);
      if (skip) return this.markSkipped(step, stepState, skip, step.kind === 'action');
      if (this.failRequest && !this.abortRequest) return this.stoppedBy(step, stepState, this.failRequest);
      this.abortRequest ??= { actor: 'temporal', channel: 'cli', comment: 'the workflow was cancelled' };
      const { actor } = this.abortRequest;
      if (step.kind === 'action') {
        this.close(stepState, 'interrupted', { error: `interrupted by the abort of ${actor}: it may have applied its change, so its compensation runs` });
        this.record('step.interrupted', { stepId: step.id, actor, detail: { maybeApplied: true } });
        return { kind: 'aborted', maybeApplied: true };
      }
      this.close(stepState, 'failed', { error: `closed: run aborted by ${actor}` });
      this.record('step.interrupted', { stepId: step.id, actor });
      return { kind: 'aborted' };
    }
    const reason = describeFailure(error);
    this.close(stepState, 'failed', { error: reason });
    if (!(error instanceof StepFailure && error.recorded)) this.record('step.failed', { stepId: step.id, detail: { error: reason } });
    return { kind: 'failed', reason };
  }

  /** A step stopped because the run must fail now (failNow): an action may have applied its change, so its compensation runs. */
  private stoppedBy(step: Step, stepState: StepState, request: { reason: string; actor: string }): Outcome {
    const applied = step.kind === 'action';
    this.close(stepState, applied ? 'interrupted' : 'failed', { error: `stopped: ${request.reason}` });
    this.record('step.interrupted', { stepId: step.id, actor: request.actor, detail: { reason: request.reason, maybeApplied: applied } });
    return { kind: 'aborted', maybeApplied: applied };
  }

  /** Stops the run as failed with `reason`; what it changed is rolled back (as options.selectRollback says). */
  failNow(reason: string, actor = 'golive'): void {
    if (this.finished || this.failRequest || this.abortRequest) return;
    this.failRequest = { reason, actor };
    this.interruptCurrentStep();
  }

  /** Runs `work` as the current step's cancellable scope, so an abort or failNow interrupts it (a rollout's gate). */
  async asCurrentStep<T>(work: () => Promise<T>): Promise<T> {
    const scope = new CancellationScope();
    this.stepScope = scope;
    try {
      return await scope.run(work);
    } finally {
      this.stepScope = undefined;
    }
  }

  private markSkipped(step: Step, stepState: StepState, request: ControlRequest, whileRunning = false): Outcome {
    const note = whileRunning ? 'skipped while it ran: it may have applied its change, so its compensation runs if the run rolls back' : undefined;
    this.close(stepState, 'skipped', { actor: request.actor, comment: request.comment, error: note });
    this.record('step.skipped', { stepId: step.id, actor: request.actor, channel: request.channel, detail: { comment: request.comment, maybeApplied: whileRunning } });
    return { kind: 'skipped', maybeApplied: whileRunning };
  }

  private close(stepState: StepState, status: StepState['status'], fields: Partial<StepState>): void {
    const finishedAt = now();
    const durationMs = stepState.startedAt ? Date.parse(finishedAt) - Date.parse(stepState.startedAt) : undefined;
    Object.assign(stepState, { status, finishedAt, durationMs, ...fields });
  }

  private stepState(step: Step, phase: Phase): StepState {
    const list = phase === 'steps' ? this.state.steps : this.state.rollback;
    let found = list.find((candidate) => candidate.id === step.id);
    if (!found) {
      found = initialState(step, phase);
      list.push(found);
    }
    return found;
  }

  private perform(step: Step, phase: Phase): Promise<unknown> {
    switch (step.kind) {
      case 'action': return performAction(this, step, phase);
      case 'approval': return awaitApproval(this, step);
      case 'pause': return awaitPause(this, step);
    }
  }
}
