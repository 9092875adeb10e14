import { getRunState } from '../runtime/runs.ts';
import { FINISHED } from '../workflows/definitions.ts';
import type { SlackDeps } from './deps.ts';
import type { GateRef } from './ids.ts';

/**
 * Why a person may not decide a gate now, read from the run's state before a modal asks them for a
 * reason: a decided or closed gate, a finished run, four-eyes, a role the gate needs. Undefined lets
 * them go on; the workflow judges the decision itself when it arrives, whatever this said.
 */
export async function gateRefusal(deps: SlackDeps, gate: GateRef, user: string, verb: 'approve' | 'reject'): Promise<string | undefined> {
  const { runId, stepId } = gate;
  const state = await getRunState(deps.client, deps.store, runId);
  const step = state.steps.find((candidate) => candidate.id === stepId);
  if (step?.actor !== undefined && (step.status === 'succeeded' || step.status === 'failed')) {
    const decision = step.status === 'succeeded' ? 'approved' : 'rejected';
    return `gate ${stepId} of run ${runId} was already ${decision} by ${step.actor} at ${step.finishedAt ?? 'an earlier time'}; nothing changed`;
  }
  if (FINISHED.includes(state.status)) return `run ${runId} already finished (${state.status}); there is nothing to ${verb}; nothing changed`;
  if (step !== undefined && step.status !== 'waiting') return `gate ${stepId} of run ${runId} is not waiting for a decision (it is ${step.status}); nothing changed`;
  const waiting = state.gate?.stepId === stepId ? state.gate : undefined;
  const approvers = waiting ? waiting.approvers.join(' or ') : 'the role the gate names';
  if (user === state.requestedBy) return `four-eyes: ${user} requested run ${runId} and cannot ${verb} its gate ${stepId}; ask someone holding ${approvers}`;
  if (waiting) {
    const held = await deps.roles.rolesOf(user);
    if (!held.some((role) => waiting.approvers.includes(role))) {
      return `${user} cannot ${verb} gate ${stepId} of run ${runId}: it needs ${approvers} and ${user} holds ${held.join(', ') || 'no role'}`;
    }
  }
  return undefined;
}
