import { randomBytes } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { RoleMap } from '../definitions/roles.ts';
import type { Runbook } from '../definitions/schema.ts';
import type { RunStore } from '../store/runs.ts';
import {
  CONTROLS, FINISHED, RUNBOOK_WORKFLOW, stateQuery,
  type ControlName, type ControlRequest, type RunbookRunInput, type RunState,
} from '../workflows/definitions.ts';

/** A mistake the user can fix; the CLI prints its message without a stack trace. */
export class UserError extends Error {
  override name = 'UserError';
}

export interface StartRunOptions {
  runbook: Runbook;
  requestedBy: string;
  roles: RoleMap;
  taskQueue: string;
  source?: string;
}

/** Run ids read well in Slack and the CLI: `orders-failover-20261124-1532-k3f9`. */
export function newRunId(name: string, at = new Date()): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 13);
  return `${name}-${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Refuses a run whose approval gates no one but the requester could ever decide. */
export function checkApprovers(runbook: Runbook, requestedBy: string, roles: RoleMap): void {
  for (const step of runbook.spec.steps) {
    if (step.kind !== 'approval') continue;
    const eligible = Object.entries(roles).filter(([user, held]) => user !== requestedBy && held.some((role) => step.approval.approvers.includes(role)));
    if (eligible.length === 0) {
      throw new UserError(`cannot start ${runbook.metadata.name}: nobody but ${requestedBy} could approve gate ${step.id} (needs ${step.approval.approvers.join(' or ')}); map another user to that role in GOLIVE_ROLES`);
    }
  }
}

export async function startRunbookRun(client: Client, options: StartRunOptions): Promise<string> {
  checkApprovers(options.runbook, options.requestedBy, options.roles);
  const runId = newRunId(options.runbook.metadata.name);
  const input: RunbookRunInput = { runbook: options.runbook, requestedBy: options.requestedBy, roles: options.roles, source: options.source };
  await client.workflow.start(RUNBOOK_WORKFLOW, { workflowId: runId, taskQueue: options.taskQueue, args: [input] });
  return runId;
}

/** The answer to a run id golive does not know. */
export function unknownRun(runId: string): UserError {
  return new UserError(`no run ${runId}: list runs with \`golive runs\``);
}

/** Why a control on a finished run changes nothing, from what the run recorded. */
async function finishedRunMessage(store: RunStore, runId: string, control: ControlName): Promise<string> {
  const run = await store.getRun(runId);
  const gates = run?.state.steps.filter((step) => step.kind === 'approval' && step.actor !== undefined) ?? [];
  const gate = gates.at(-1);
  if ((control === 'approve' || control === 'reject') && gate) {
    const decision = gate.status === 'succeeded' ? 'approved' : 'rejected';
    return `gate ${gate.id} of run ${runId} was already ${decision} by ${gate.actor} at ${gate.finishedAt}; the run finished (${run?.status}); nothing changed`;
  }
  return `cannot ${control} run ${runId}: it already finished (${run?.status ?? 'see `golive status`'}); nothing changed`;
}

/** Sends a control; a refusal comes back as a UserError carrying the reason. */
export async function sendControl(
  stack: { client: Client; store: RunStore },
  runId: string,
  control: ControlName,
  request: ControlRequest,
): Promise<string> {
  try {
    return await stack.client.workflow.getHandle(runId).executeUpdate(CONTROLS[control], { args: [request] });
  } catch (error) {
    if (error instanceof Error && /already completed/i.test(error.message)) throw new UserError(await finishedRunMessage(stack.store, runId, control));
    if (error instanceof WorkflowNotFoundError) throw unknownRun(runId);
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) throw new UserError(error.cause.message);
    throw error;
  }
}

/** The live state of an open run (query), else the last state golive recorded. */
export async function getRunState(client: Client, store: RunStore, runId: string): Promise<RunState> {
  const recorded = await store.getRun(runId);
  if (recorded && FINISHED.includes(recorded.status)) return recorded.state;
  try {
    return await client.workflow.getHandle(runId).query(stateQuery);
  } catch (error) {
    if (recorded) return recorded.state;
    if (error instanceof WorkflowNotFoundError) throw unknownRun(runId);
    throw error;
  }
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
