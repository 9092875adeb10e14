import { ApplicationFailure, setHandler } from '@temporalio/workflow';
import { checklistRunState, isOpen } from '../definitions/checklist-record.ts';
import type { Role } from '../definitions/roles.ts';
import type { ChecklistRun } from './checklist.ts';
import { control, forbid, holds, refuse, requireFresh } from './controls.ts';
import {
  abortUpdate, approveUpdate, pauseUpdate, projectionQuery, promoteUpdate, rejectUpdate, resumeUpdate, rollbackUpdate, skipUpdate, stateQuery, waiveUpdate,
  type ApprovalDecision, type ChecklistItemRecord, type ControlRequest, type Decision,
} from './definitions.ts';

/**
 * The controls of a checklist run. Sign-offs are approve and reject with `stepId` = the item
 * (four-eyes, one of the item's approver roles); waive accepts a failed or open item (a release
 * manager who is not the requester, with a reason); abort ends the run. Each is judged like every
 * run control (controls.ts): checked, the actor's roles looked up on the worker, checked again.
 */

/** Who may waive an item: the role that owns the go-live gate. */
const WAIVER_ROLE: Role = 'release-manager';
/** Who may abort a checklist run besides its requester. */
const ABORT_ROLE: Role = 'release-manager';

/** The request itself is incomplete (no reason, no item): the caller's mistake to fix, not a conflict. */
const invalid = (message: string): never => {
  throw ApplicationFailure.create({ message, type: 'ControlInvalid', nonRetryable: true });
};

type Verb = 'approve' | 'reject';
const SAID: Record<Verb, string> = { approve: 'sign off', reject: 'reject' };

function requireOpenRun(run: ChecklistRun, what: string): void {
  const { runId, status } = run.record;
  if (run.finished) refuse(`cannot ${what} checklist run ${runId}: it already finished (${status}); nothing changed`);
  if (run.abortRequest) refuse(`cannot ${what} checklist run ${runId}: it was aborted by ${run.abortRequest.actor}; nothing changed`);
}

function itemNamed(run: ChecklistRun, id: string): ChecklistItemRecord {
  const item = run.item(id);
  if (item) return item;
  return refuse(`checklist run ${run.record.runId} has no item ${id} (items: ${run.record.items.map((known) => known.id).join(', ')})`);
}

const when = (decision: Decision) => `by ${decision.actor} at ${decision.at}${decision.comment ? ` (${decision.comment})` : ''}`;

/** Refuses a decision on an item that is already decided, saying who decided it and when. */
function requireUndecided(run: ChecklistRun, item: ChecklistItemRecord): void {
  const at = `item ${item.id} of checklist run ${run.record.runId}`;
  if (item.waiver) refuse(`${at} was already waived ${when(item.waiver)}; nothing changed`);
  if (item.signedOff) refuse(`${at} was already signed off ${when(item.signedOff)}; nothing changed`);
  if (item.rejected) refuse(`${at} was already rejected ${when(item.rejected)}; nothing changed`);
  if (item.status === 'failed') refuse(`${at} is closed: ${item.reason ?? 'it failed'}; nothing changed`);
}

/** The sign-off item a decision is for: the named one, or the only one open. */
function signOffFor(run: ChecklistRun, request: ControlRequest, verb: Verb): ChecklistItemRecord {
  const { runId, requestedBy } = run.record;
  requireOpenRun(run, `${SAID[verb]} items of`);
  const open = run.record.items.filter((item) => item.status === 'waiting-sign-off');
  if (request.stepId === undefined && open.length !== 1) {
    refuse(open.length === 0
      ? `checklist run ${runId} has no sign-off open${run.record.items.some((item) => item.verification === 'sign-off' && item.status === 'pending') ? ' yet: they open once its pre-flight passes' : ''}`
      : `checklist run ${runId} has ${open.length} sign-offs open (${open.map((item) => item.id).join(', ')}); name one: golive ${verb} ${runId} --step ITEM`);
  }
  const item = itemNamed(run, request.stepId ?? open[0]!.id);
  if (item.verification === 'automatic') {
    refuse(`item ${item.id} of checklist run ${runId} is automatic: its check decides it; a release manager can waive it with golive checklist waive ${runId} ${item.id} --reason TEXT`);
  }
  requireUndecided(run, item);
  if (item.status === 'pending') refuse(`the sign-offs of checklist run ${runId} open once its pre-flight passes; try again in a moment`);
  if (request.actor === requestedBy) {
    forbid(`four-eyes: ${request.actor} requested checklist run ${runId} and cannot ${SAID[verb]} its item ${item.id}; ask someone holding ${(item.approvers ?? []).join(' or ')}`);
  }
  if (verb === 'reject' && !request.comment?.trim()) {
    invalid(`a rejection needs a reason: say with --comment what item ${item.id} is missing; its owner reads it, and the gate fails on it`);
  }
  return item;
}

function decide(run: ChecklistRun, verb: Verb) {
  return control(run, (request) => signOffFor(run, request, verb), (request, held, item) => {
    if (held.some((role) => item.approvers?.includes(role))) return;
    forbid(`${request.actor} cannot ${SAID[verb]} item ${item.id} of checklist run ${run.record.runId}: it needs ${(item.approvers ?? []).join(' or ')} and ${request.actor} holds ${holds(held)}`);
  }, (request, item) => {
    const at = new Date().toISOString();
    const decision: Decision = { actor: request.actor, channel: request.channel, at, comment: request.comment };
    const approval: ApprovalDecision = { stepId: item.id, decision: verb === 'approve' ? 'approved' : 'rejected', ...decision };
    if (verb === 'approve') run.settle(item, { status: 'passed', signedOff: decision });
    else run.settle(item, { status: 'failed', rejected: decision, reason: `rejected by ${request.actor}: ${request.comment?.trim()}` });
    run.audit(`approval.${approval.decision}`, { actor: request.actor, channel: request.channel, stepId: item.id, detail: { comment: request.comment }, approval });
    return `${verb === 'approve' ? 'signed off' : 'rejected'} item ${item.id} of checklist run ${run.record.runId}`;
  });
}

/** A failed or open item a release manager may accept, with the reason they give. */
function waivable(run: ChecklistRun, request: ControlRequest): ChecklistItemRecord {
  const { runId, requestedBy } = run.record;
  requireOpenRun(run, 'waive items of');
  if (request.stepId === undefined) invalid(`name the item to waive: golive checklist waive ${runId} ITEM --reason TEXT`);
  const item = itemNamed(run, request.stepId!);
  if (!request.comment?.trim()) {
    invalid(`a waiver needs a reason: say why item ${item.id} may go live as it is (--reason TEXT, or comment through the API); it is kept in the audit trail`);
  }
  if (item.waiver) refuse(`item ${item.id} of checklist run ${runId} was already waived ${when(item.waiver)}; nothing changed`);
  if (item.status === 'passed') refuse(`item ${item.id} of checklist run ${runId} already passed${item.signedOff ? ` (signed off ${when(item.signedOff)})` : ''}; there is nothing to waive`);
  if (request.actor === requestedBy) {
    forbid(`${request.actor} requested checklist run ${runId} and cannot waive its item ${item.id}: a different release manager must waive it`);
  }
  return item;
}

function waive(run: ChecklistRun) {
  return control(run, (request) => waivable(run, request), (request, held, item) => {
    if (held.includes(WAIVER_ROLE)) return;
    forbid(`${request.actor} cannot waive item ${item.id} of checklist run ${run.record.runId}: only a ${WAIVER_ROLE} may (${request.actor} holds ${holds(held)})`);
  }, (request, item) => {
    const was = { status: item.status, reason: item.reason };
    const waiver: Decision = { actor: request.actor, channel: request.channel, at: new Date().toISOString(), comment: request.comment?.trim() };
    // A finished item keeps its check's timings; an open one closes now.
    if (isOpen(item)) run.settle(item, { status: 'waived', waiver });
    else Object.assign(item, { status: 'waived', waiver });
    run.audit('item.waived', { actor: request.actor, channel: request.channel, stepId: item.id, detail: { reason: waiver.comment, was: was.status, failure: was.reason } });
    return `waived item ${item.id} of checklist run ${run.record.runId}: ${waiver.comment}`;
  });
}

/** Controls that mean nothing for a checklist run, each answered with what to use instead. */
function refusals(run: ChecklistRun): Array<[typeof pauseUpdate, (request: ControlRequest) => string]> {
  const { runId } = run.record;
  const waiveHint = `a release manager waives a failed or open item with golive checklist waive ${runId} ITEM --reason TEXT`;
  return [
    [pauseUpdate, () => `checklist run ${runId} cannot be paused: its items are checked and signed off in any order; abort it, or let its sign-off deadline (${run.record.deadline}) close it`],
    [resumeUpdate, () => `checklist run ${runId} is never paused; there is nothing to resume`],
    [skipUpdate, () => `checklist items cannot be skipped: ${waiveHint}`],
    [promoteUpdate, () => `checklist run ${runId} is not a rollout: promote ends a rollout's bake; sign its items off with golive checklist sign-off ${runId} ITEM`],
    [rollbackUpdate, () => `checklist run ${runId} is not a rollout and changed nothing to roll back; abort it with golive abort ${runId}`],
  ];
}

/** Registers the queries and every control update of a checklist run; call before the first await. */
export function registerChecklistControls(run: ChecklistRun): void {
  const { runId } = run.record;
  setHandler(stateQuery, () => checklistRunState(run.record));
  setHandler(projectionQuery, () => run.projection.progress());

  for (const [update, verb] of [[approveUpdate, 'approve'], [rejectUpdate, 'reject']] as const) {
    const decision = decide(run, verb);
    setHandler(update, decision.handler, { validator: decision.validator });
  }
  const waiver = waive(run);
  setHandler(waiveUpdate, waiver.handler, { validator: waiver.validator });

  const abort = control(run, () => requireOpenRun(run, 'abort'), (request, held) => {
    if (request.actor === run.record.requestedBy || held.includes(ABORT_ROLE)) return;
    forbid(`${request.actor} cannot abort checklist run ${runId}: only its requester (${run.record.requestedBy}) or a ${ABORT_ROLE} may (${request.actor} holds ${holds(held)})`);
  }, (request) => {
    run.abortRequest = request;
    run.audit('control.aborted', { actor: request.actor, channel: request.channel, detail: { comment: request.comment } });
    return `checklist run ${runId} aborted; checks still running stop and open items fail`;
  });
  setHandler(abortUpdate, abort.handler, { validator: abort.validator });

  for (const [update, message] of refusals(run)) {
    const refused = (request: ControlRequest) => {
      requireFresh(request);
      return refuse(message(request));
    };
    setHandler(update, async (request) => refused(request), { validator: (request) => void refused(request) });
  }
}
