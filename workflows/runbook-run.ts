import { CancellationScope, condition, isCancellation, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.ts';
import type { ActionRequest } from '../activities/types.ts';
import { failedAssertions } from '../definitions/assertions.ts';
import { durationMs } from '../definitions/duration.ts';
import type { ActionStep, ApprovalStep, PauseStep, Runbook, Step } from '../definitions/schema.ts';
import { render } from '../definitions/templates.ts';
import { FINISHED, type ApprovalDecision, type ControlRequest, type RunbookRunInput, type RunKind, type RunState, type RunStatus, type StepState } from './definitions.ts';
import { describeFailure, StepFailure } from './failures.ts';
import { actionOptions, PRESETS } from './presets.ts';

type Activities = ReturnType<typeof createActivities>;
const { recordEvent } = proxyLocalActivities<Activities>(PRESETS.auditWrite);

type Phase = StepState['phase'];

export interface RunOptions {
  kind: RunKind;
  /**
   * Judges a run whose steps all succeeded; a returned reason fails it (a drill that restored
   * fine but missed its RPO). Nothing is rolled back for a verdict: every step did its work.
   */
  verdict?: (state: RunState) => string | undefined;
}
type Outcome = { kind: 'succeeded' | 'skipped' | 'aborted' } | { kind: 'failed'; reason: string };

const START_EVENT = { action: 'step.started', approval: 'approval.requested', pause: 'pause.started' } as const;
const END_EVENT = { action: 'step.succeeded', approval: undefined, pause: 'pause.ended' } as const;

const now = () => new Date().toISOString();

/**
 * One run of a runbook: the steps in order, then, on failure or abort, the compensations of the
 * steps that succeeded, in reverse. Controls (controls.ts) change the fields marked "control".
 */
export class RunbookRun {
  readonly state: RunState;
  readonly runbook: Runbook;
  /** control: decisions on approval gates, by step id. */
  readonly decisions = new Map<string, ApprovalDecision>();
  /** control: steps someone asked to skip. */
  readonly skipRequests = new Map<string, ControlRequest>();
  /** control: set once someone aborts. */
  abortRequest?: ControlRequest;
  /** control: ends the current pause step early. */
  resumeRequested = false;
  private stepScope?: CancellationScope;
  private seq = 0;
  private writes: Promise<void> = Promise.resolve();
  private readonly results: Record<string, unknown> = {};

  constructor(readonly input: RunbookRunInput, runId: string, readonly options: RunOptions = { kind: 'runbook' }) {
    this.runbook = input.runbook;
    const { metadata, spec } = input.runbook;
    this.state = {
      runId,
      runbook: metadata.name,
      service: metadata.service,
      strategy: spec.strategy,
      requestedBy: input.requestedBy,
      status: 'running',
      paused: false,
      startedAt: now(),
      steps: spec.steps.map((step) => initialState(step, 'steps')),
      rollback: [],
    };
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

  /**
   * Writes one audit event together with the run's state as it is now. Writes go one at a time,
   * in seq order: two local activities in flight at once resolve in completion order when first
   * run but in seq order on replay, which would reorder what the handlers and the loop do next.
   */
  record(action: string, options: { actor?: string; stepId?: string; detail?: Record<string, unknown>; approval?: ApprovalDecision } = {}): Promise<void> {
    const event = { runId: this.state.runId, seq: ++this.seq, at: now(), actor: options.actor ?? 'golive', action, stepId: options.stepId, detail: options.detail };
    const state = JSON.parse(JSON.stringify(this.state)) as RunState;
    const write = this.writes.then(() => recordEvent({ event, run: { kind: this.options.kind, state }, approval: options.approval }));
    this.writes = write.catch(() => undefined);
    return write;
  }

  async execute(): Promise<void> {
    const { spec } = this.runbook;
    await this.record('run.started', {
      actor: this.input.requestedBy,
      detail: { source: this.input.source, strategy: spec.strategy, objectives: spec.objectives },
    });
    const compensations = spec.rollback.filter((step) => step.compensates === undefined);
    let failure: string | undefined;
    try {
      for (const step of spec.steps) {
        await this.holdWhilePaused();
        if (this.abortRequest) break;
        const outcome = await this.runStep(step, 'steps');
        if (outcome.kind === 'succeeded') compensations.push(...spec.rollback.filter((undo) => undo.compensates === step.id));
        if (outcome.kind === 'failed') failure = `step ${step.id} failed: ${outcome.reason}`;
        if (outcome.kind === 'failed' || outcome.kind === 'aborted') break;
      }
    } catch (error) {
      if (!isCancellation(error)) throw error;
      this.abortRequest ??= { actor: 'temporal', comment: 'the workflow was cancelled' };
    }
    const verdict = failure === undefined && !this.abortRequest ? this.options.verdict?.(this.state) : undefined;
    if (verdict !== undefined) {
      await this.record('run.verdict', { detail: { reason: verdict } });
      failure = verdict;
    }
    await CancellationScope.nonCancellable(() => this.finish(failure, verdict === undefined ? compensations.reverse() : []));
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
    if (status !== 'succeeded' && compensations.length > 0) await this.rollback(compensations);
    this.state.status = status;
    this.state.currentStep = undefined;
    this.state.finishedAt = now();
    await this.record('run.finished', { detail: { status, reason: this.state.reason } });
  }

  private async rollback(compensations: Step[]): Promise<void> {
    this.state.status = 'rolling-back';
    this.state.paused = false;
    await this.record('rollback.started', { detail: { steps: compensations.map((step) => step.id) } });
    const failed: string[] = [];
    for (const step of compensations) {
      const outcome = await this.runStep(step, 'rollback');
      if (outcome.kind === 'failed') failed.push(`${step.id}: ${outcome.reason}`);
    }
    if (failed.length > 0) this.state.reason = `${this.state.reason}; rollback incomplete (${failed.join('; ')})`;
    await this.record('rollback.finished', { detail: { failed } });
  }

  private async holdWhilePaused(): Promise<void> {
    if (!this.state.paused || this.abortRequest) return;
    this.state.status = 'paused';
    await condition(() => !this.state.paused || this.abortRequest !== undefined);
    this.state.status = 'running';
  }

  private async runStep(step: Step, phase: Phase): Promise<Outcome> {
    const stepState = this.stepState(step, phase);
    const skip = this.skipRequests.get(step.id);
    if (skip) return this.markSkipped(stepState, skip);
    Object.assign(stepState, { status: step.kind === 'action' ? 'running' : 'waiting', startedAt: now() });
    this.state.currentStep = step.id;
    if (phase === 'steps') this.state.status = { action: 'running', approval: 'waiting-approval', pause: 'paused' }[step.kind] as RunStatus;
    await this.record(START_EVENT[step.kind], { stepId: step.id, detail: startDetail(step) });
    const scope = new CancellationScope();
    this.stepScope = scope;
    try {
      const result = await scope.run(() => this.perform(step, phase));
      this.results[step.id] = result;
      this.close(stepState, 'succeeded', { result });
      const end = END_EVENT[step.kind];
      if (end) await this.record(end, { stepId: step.id, detail: { durationMs: stepState.durationMs } });
      return { kind: 'succeeded' };
    } catch (error) {
      return this.stepEndedEarly(step, stepState, error);
    } finally {
      this.stepScope = undefined;
      if (phase === 'steps' && !this.finished) this.state.status = 'running';
    }
  }

  private async stepEndedEarly(step: Step, stepState: StepState, error: unknown): Promise<Outcome> {
    if (isCancellation(error)) {
      const skip = this.skipRequests.get(step.id);
      if (skip) return this.markSkipped(stepState, skip);
      if (!this.abortRequest) throw error;
      this.close(stepState, 'failed', { error: `interrupted: run aborted by ${this.abortRequest.actor}` });
      await this.record('step.interrupted', { stepId: step.id, actor: this.abortRequest.actor });
      return { kind: 'aborted' };
    }
    const reason = describeFailure(error);
    this.close(stepState, 'failed', { error: reason });
    if (!(error instanceof StepFailure && error.recorded)) await this.record('step.failed', { stepId: step.id, detail: { error: reason } });
    return { kind: 'failed', reason };
  }

  private async markSkipped(stepState: StepState, request: ControlRequest): Promise<Outcome> {
    this.close(stepState, 'skipped', { actor: request.actor, comment: request.comment });
    await this.record('step.skipped', { stepId: stepState.id, actor: request.actor, detail: { comment: request.comment } });
    return { kind: 'skipped' };
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
      case 'action': return this.performAction(step, phase);
      case 'approval': return this.awaitApproval(step);
      case 'pause': return this.awaitPause(step);
    }
  }

  private async performAction(step: ActionStep, phase: Phase): Promise<unknown> {
    const { targets } = this.runbook.spec;
    const idempotencyKey = `${this.state.runId}:${step.id}`;
    const request: ActionRequest = {
      runId: this.state.runId,
      stepId: step.id,
      idempotencyKey,
      target: step.target === undefined ? undefined : { name: step.target, spec: targets[step.target]! },
      targets: referencedTargets(step, targets),
      with: render(step.with, {
        run: { id: this.state.runId, requestedBy: this.state.requestedBy },
        step: { id: step.id },
        idempotencyKey,
        steps: this.results,
      }),
    };
    const activities = proxyActivities<Activities>(actionOptions(step, phase));
    const result = await activities[step.action](request);
    const failures = failedAssertions(step.assert, result);
    if (failures.length > 0) throw new StepFailure(failures.join('; '));
    return result;
  }

  private async awaitApproval(step: ApprovalStep): Promise<unknown> {
    const decided = await condition(() => this.decisions.has(step.id), durationMs(step.approval.timeout));
    if (!decided) {
      await this.record('approval.timed-out', { stepId: step.id, detail: { timeout: step.approval.timeout } });
      throw new StepFailure(`approval gate ${step.id} had no decision within ${step.approval.timeout}`, true);
    }
    const decision = this.decisions.get(step.id)!;
    if (decision.decision === 'rejected') {
      throw new StepFailure(`rejected by ${decision.actor}${decision.comment ? `: ${decision.comment}` : ''}`, true);
    }
    return { approvedBy: decision.actor, comment: decision.comment };
  }

  private async awaitPause(step: PauseStep): Promise<unknown> {
    this.resumeRequested = false;
    const limit = step.pause.duration === undefined ? undefined : durationMs(step.pause.duration);
    const resumed = await condition(() => this.resumeRequested, limit);
    this.resumeRequested = false;
    return { resumedEarly: limit === undefined ? true : resumed };
  }
}

function initialState(step: Step, phase: Phase): StepState {
  return { id: step.id, kind: step.kind, phase, action: step.kind === 'action' ? step.action : undefined, status: 'pending' };
}

function startDetail(step: Step): Record<string, unknown> | undefined {
  if (step.kind === 'approval') return { approvers: step.approval.approvers, timeout: step.approval.timeout };
  if (step.kind === 'pause') return { duration: step.pause.duration ?? 'until resumed', reason: step.pause.reason };
  return { action: step.action, target: step.target };
}

function referencedTargets(step: ActionStep, targets: Runbook['spec']['targets']): ActionRequest['targets'] {
  return Object.fromEntries(step.targetRefs.map((name) => [name, targets[name]!]));
}
