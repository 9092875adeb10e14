import { executeChild, isCancellation, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.ts';
import { GATE_STEP, rollbackSteps, rolloutRunPlan, stepPercent } from '../definitions/rollout-plan.ts';
import { currentPercent, rolloutRecord } from '../definitions/rollout-record.ts';
import { control, refuse, requireController, requireOpen, registerControls } from './controls.ts';
import {
  CHECKLIST_WORKFLOW, promoteUpdate, rollbackUpdate, rolloutQuery,
  type ChecklistRecord, type ChecklistRunInput, type RolloutRecord, type RolloutRunInput, type StepState,
} from './definitions.ts';
import { describeFailure } from './failures.ts';
import { GuardWatch } from './guards.ts';
import { PRESETS } from './presets.ts';
import { RunbookRun } from './runbook-run.ts';
import { closeRun, finishWorkflow } from './runbook.ts';

type Activities = ReturnType<typeof createActivities>;
const { notifyRollout } = proxyActivities<Activities>(PRESETS.notify);

/**
 * A phased rollout (definitions/rollout-plan.ts has its steps): the go-live checklist as a child
 * run, then each phase's gate, percentage and bake on the run engine, while GuardWatch evaluates the
 * guards on durable timers. A tripped guard or a rollback control stops the run and rolls the flag
 * back as the plan says; an abort takes it back to 0. The record travels with every audit batch
 * and answers the `rollout` query live.
 */
export async function rolloutWorkflow(input: RolloutRunInput): Promise<RolloutRecord> {
  const { plan } = input;
  const runId = workflowInfo().workflowId;
  let gate: RolloutRecord['gate'];
  const gateStep: StepState = { id: GATE_STEP, kind: 'action', phase: 'steps', action: 'checklist.run', status: 'pending' };
  const record = (): RolloutRecord => rolloutRecord(input, run.state, { readings: watch.readings, gate, stoppedBy: run.failRequest?.actor ?? run.abortRequest?.actor });
  const run: RunbookRun = new RunbookRun({ ...input, runbook: rolloutRunPlan(plan) }, runId, {
    kind: 'rollout',
    requiredRole: 'release-manager',
    records: () => ({ rollout: record() }),
    onGateTimeout: (step) => plan.spec.phases.find((phase) => phase.percent === stepPercent(step.id))?.approval?.onTimeout === 'promote' ? 'approve' : 'fail',
    selectRollback: (due, cause) => rollbackSteps(plan, due, cause),
    before: input.checklist ? async (current) => {
      const outcome = await runGate(current, input, gateStep);
      gate = outcome.gate;
      return outcome.failure;
    } : undefined,
  });
  if (input.checklist) run.state.steps.unshift(gateStep);
  const watch = new GuardWatch(run, plan, () => currentPercent(run.state) > 0);
  registerControls(run);
  registerRolloutControls(run);
  setHandler(rolloutQuery, record);
  await Promise.all([run.execute(), watch.watch()]);
  if (run.state.status === 'failed' && run.state.rollback.some((step) => step.status === 'succeeded')) {
    await notify(record(), plan.metadata.slack?.channel ?? input.slackChannel);
  }
  await closeRun(run);
  const final = record();
  finishWorkflow(run.state, final);
  return final;
}

/** The go-live checklist as a child run; the rollout goes on only when its gate passed. */
async function runGate(run: RunbookRun, input: RolloutRunInput, step: StepState): Promise<{ failure?: string; gate?: RolloutRecord['gate'] }> {
  const checklist = input.checklist!;
  const childId = `${run.state.runId}-gate`;
  const childInput: ChecklistRunInput = {
    checklist, service: input.plan.metadata.service, requestedBy: input.requestedBy, channel: input.channel,
    source: input.source, comment: `go-live gate of rollout ${run.state.runId}`, rollout: run.state.runId, slackChannel: input.slackChannel,
  };
  Object.assign(step, { status: 'running', startedAt: new Date().toISOString() });
  run.state.currentStep = GATE_STEP;
  run.record('gate.started', { stepId: GATE_STEP, detail: { checklist: checklist.metadata.name, checklistRun: childId } });
  const finish = (status: StepState['status'], fields: Partial<StepState>) => {
    const finishedAt = new Date().toISOString();
    Object.assign(step, { status, finishedAt, durationMs: Date.parse(finishedAt) - Date.parse(step.startedAt!), ...fields });
    run.state.currentStep = undefined;
  };
  let result: ChecklistRecord;
  try {
    result = await run.asCurrentStep(() => executeChild(CHECKLIST_WORKFLOW, { workflowId: childId, args: [childInput] }));
  } catch (error) {
    const stopped = isCancellation(error) ? run.failRequest?.reason ?? 'the rollout was aborted' : describeFailure(error);
    finish('failed', { error: stopped });
    run.record('gate.finished', { stepId: GATE_STEP, detail: { passed: false, reason: stopped } });
    if (isCancellation(error) && !run.failRequest) throw error;
    return { failure: `the go-live gate did not finish: ${stopped}`, gate: { runId: childId, checklist: checklist.metadata.name, status: 'failed', reason: stopped } };
  }
  const gate = { runId: childId, checklist: result.checklist, status: result.status, reason: result.reason };
  const passed = result.status === 'passed';
  finish(passed ? 'succeeded' : 'failed', { result: { checklistRun: childId, status: result.status, summary: result.summary }, error: passed ? undefined : result.reason });
  run.record('gate.finished', { stepId: GATE_STEP, detail: { passed, reason: result.reason, summary: result.summary } });
  if (passed) return { gate };
  return { gate, failure: `the go-live gate did not pass: ${result.reason ?? result.status}; see \`golive checklist status ${childId}\`` };
}

/** Announces a rollback (Slack when the worker has it, else its log); a notice that cannot be sent never holds the run. */
async function notify(record: RolloutRecord, channel?: string): Promise<void> {
  try {
    await notifyRollout(record, channel);
  } catch {
    // The rollback is in the record and the audit trail; the notifier's own log says why it failed.
  }
}

/** promote ends the current bake; rollback stops the run and rolls the flag back as the plan says. */
function registerRolloutControls(run: RunbookRun): void {
  const { runId } = run.state;
  const promote = control(run, () => {
    requireOpen(run, 'promote');
    const current = run.currentState();
    if (current?.kind !== 'pause' || current.status !== 'waiting') {
      refuse(`run ${runId} is not baking (current step: ${run.state.currentStep ?? 'none'}); promote ends a bake${current?.kind === 'approval' ? `: approve gate ${current.id} instead` : ''}`);
    }
  }, (request, held) => requireController(run, request, held, 'promote'), (request) => {
    const bake = run.state.currentStep;
    run.resumeRequested = true;
    run.record('rollout.promoted', { actor: request.actor, channel: request.channel, stepId: bake, detail: { comment: request.comment } });
    return `bake ${bake} of run ${runId} ended early; the next phase starts${run.state.paused ? ' once the run is resumed' : ''}`;
  });
  setHandler(promoteUpdate, promote.handler, { validator: promote.validator });

  const rollback = control(run, () => {
    requireOpen(run, 'roll back');
    if (run.state.status === 'rolling-back' || run.failRequest || run.abortRequest) refuse(`run ${runId} is already stopping (${run.failRequest?.reason ?? run.abortRequest?.comment ?? 'rolling back'})`);
  }, (request, held) => requireController(run, request, held, 'roll back'), (request) => {
    run.record('control.rollback', { actor: request.actor, channel: request.channel, detail: { comment: request.comment } });
    run.failNow(`rolled back by ${request.actor}${request.comment ? `: ${request.comment}` : ''}`, request.actor);
    return `run ${runId} is rolling its flag back`;
  });
  setHandler(rollbackUpdate, rollback.handler, { validator: rollback.validator });
}
