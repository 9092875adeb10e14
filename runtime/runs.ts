import { randomBytes } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { Runbook } from '../definitions/schema.ts';
import type { RunStore } from '../store/runs.ts';
import { ControlConflict, ControlForbidden, StackUnavailable, UserError } from './errors.ts';
import { readRunState, unknownRun } from './run-state.ts';
import { runChannel } from './slack-channel.ts';
import {
  CONTROL_KINDS, CONTROLS, FINISHED, RUNBOOK_WORKFLOW, stateQuery,
  type Channel, type ControlName, type ControlRequest, type RunbookRunInput, type RunKind, type RunState,
} from '../workflows/definitions.ts';

export interface StartRunOptions {
  runbook: Runbook;
  requestedBy: string;
  channel: Channel;
  taskQueue: string;
  source?: string;
  comment?: string;
  /** The Slack channel ID of the run's message when its definition names none (metadata.slack.channel wins). */
  slackChannel?: string;
}

/** Run ids read well in Slack and the CLI: `orders-failover-20261124-1532-k3f9`. */
export function newRunId(name: string, at = new Date()): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 13);
  return `${name}-${stamp}-${randomBytes(2).toString('hex')}`;
}

/**
 * Starts a run. The workflow's pre-flight, on the worker, refuses a runbook whose targets cannot
 * be resolved or whose gates nobody but the requester could decide, before any step runs.
 */
export async function startRunbookRun(client: Client, options: StartRunOptions): Promise<string> {
  const runId = newRunId(options.runbook.metadata.name);
  const input: RunbookRunInput = {
    runbook: options.runbook, requestedBy: options.requestedBy, channel: options.channel, source: options.source, comment: options.comment,
    slackChannel: runChannel(options.runbook, options.slackChannel),
  };
  await client.workflow.start(RUNBOOK_WORKFLOW, { workflowId: runId, taskQueue: options.taskQueue, args: [input] });
  return runId;
}

/** Why a control on a finished run changes nothing, from what the run recorded. */
async function finishedRunMessage(store: RunStore, runId: string, control: ControlName, stepId?: string): Promise<string> {
  const run = await store.getRun(runId).catch(() => undefined);
  const gates = run?.state.steps.filter((step) => step.kind === 'approval' && step.actor !== undefined && (stepId === undefined || step.id === stepId)) ?? [];
  const gate = gates.at(-1);
  if ((control === 'approve' || control === 'reject') && gate) {
    const decision = gate.status === 'succeeded' ? 'approved' : 'rejected';
    return `gate ${gate.id} of run ${runId} was already ${decision} by ${gate.actor} at ${gate.finishedAt}; the run finished (${run?.status}); nothing changed`;
  }
  return `cannot ${control} run ${runId}: it already finished (${run?.status ?? 'see `golive status`'}); nothing changed`;
}

/** `run X is a runbook run; promote applies to rollouts`: a control only some kinds of run take, sent to another kind. */
function wrongKindMessage(runId: string, kind: string, control: ControlName, kinds: readonly RunKind[]): string {
  const runsOf = (name: string) => (name === 'rollout' ? 'rollouts' : `${name} runs`);
  return `run ${runId} is a ${kind} run; ${control} applies to ${kinds.map(runsOf).join(' and ')}; nothing changed`;
}

/** How long a control waits for the workflow's answer before saying no worker answered. */
export const CONTROL_TIMEOUT_MS = 15_000;

/** Failure types the workflow uses for a refused control (workflows/controls.ts). */
const REFUSALS: Record<string, new (message: string) => UserError> = { NotAllowed: ControlForbidden, ControlRefused: ControlConflict, ControlInvalid: UserError };

/**
 * Sends a control and returns the workflow's answer. A refusal comes back as ControlForbidden or
 * ControlConflict carrying the workflow's reason; an unknown run as NotFoundError. With no worker
 * polling the task queue, or none answering within CONTROL_TIMEOUT_MS, it fails with
 * StackUnavailable, and the request carries a deadline after which the workflow refuses it, so
 * a control reported as failed is never applied later.
 */
export async function sendControl(
  stack: { client: Client; store: RunStore; taskQueue: string },
  runId: string,
  control: ControlName,
  request: ControlRequest,
  timeoutMs = CONTROL_TIMEOUT_MS,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  const expiring: ControlRequest = { ...request, expiresAt: new Date(deadline).toISOString() };
  try {
    const recorded = await stack.store.getRun(runId).catch(() => undefined);
    const kinds = CONTROL_KINDS[control];
    if (recorded && kinds && !kinds.some((kind) => kind === recorded.kind)) throw new ControlConflict(wrongKindMessage(runId, recorded.kind, control, kinds));
    if (recorded && FINISHED.includes(recorded.status)) throw new ControlConflict(await finishedRunMessage(stack.store, runId, control, request.stepId));
    await requireWorker(stack.client, stack.taskQueue);
    return await stack.client.withDeadline(deadline, () => stack.client.workflow.getHandle(runId).executeUpdate(CONTROLS[control], { args: [expiring] }));
  } catch (error) {
    if (error instanceof UserError || error instanceof StackUnavailable) throw error;
    if (error instanceof Error && /already completed/i.test(error.message)) throw new ControlConflict(await finishedRunMessage(stack.store, runId, control, request.stepId));
    if (error instanceof WorkflowNotFoundError) {
      // A workflow that closed while the control was on its way answers "not found" too.
      const closed = await stack.client.workflow.getHandle(runId).describe().then((found) => found.status.name !== 'RUNNING', () => false);
      throw closed ? new ControlConflict(await finishedRunMessage(stack.store, runId, control, request.stepId)) : unknownRun(runId);
    }
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
      const Refusal = REFUSALS[error.cause.type ?? ''] ?? ControlConflict;
      throw new Refusal(error.cause.message);
    }
    if (Date.now() >= deadline || isDeadlineExceeded(error)) {
      throw new StackUnavailable(`no worker answered the ${control} of run ${runId} within ${Math.round(timeoutMs / 1000)}s; nothing was applied. Is a worker polling task queue ${stack.taskQueue}? Start one with \`golive worker\` (or \`golive dev\`)`);
    }
    throw error;
  }
}

/** gRPC DEADLINE_EXCEEDED. */
const DEADLINE_EXCEEDED = 4;

function isDeadlineExceeded(error: unknown): boolean {
  const code = (value: unknown) => (typeof value === 'object' && value !== null && 'code' in value ? value.code : undefined);
  return code(error) === DEADLINE_EXCEEDED || (error instanceof Error && code(error.cause) === DEADLINE_EXCEEDED);
}

/** Fails at once when no worker has polled the task queue lately: a control would wait for nobody. */
export async function requireWorker(client: Client, taskQueue: string): Promise<void> {
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  if (!pollers || pollers.length === 0) {
    throw new StackUnavailable(`no worker is polling task queue ${taskQueue}, so nothing would answer; start one with \`golive worker\` (or \`golive dev\`) and try again`);
  }
}

/** The live state of an open run (a Temporal query through the client), else the last state golive recorded. */
export function getRunState(client: Client, store: RunStore, runId: string): Promise<RunState> {
  return readRunState(store, runId, (id) => client.workflow.getHandle(id).query(stateQuery).catch((error: unknown) => {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }));
}

/** Waits until the run finishes; returns its final state whether it succeeded or not. */
export async function waitForRun(client: Client, store: RunStore, runId: string): Promise<RunState> {
  await client.workflow.getHandle(runId).result().catch(() => undefined);
  return getRunState(client, store, runId);
}

/** Polls an open run's state until `ready` holds; throws with the last state after `timeoutMs`. */
export async function waitForState(client: Client, runId: string, ready: (state: RunState) => boolean, timeoutMs = 60_000): Promise<RunState> {
  const handle = client.workflow.getHandle(runId);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await handle.query(stateQuery);
    if (ready(state)) return state;
    if (Date.now() > deadline) throw new Error(`run ${runId} did not reach the expected state within ${timeoutMs} ms; it is ${state.status} at ${state.currentStep ?? 'no step'}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
