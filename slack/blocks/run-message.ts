import { formatMeasured } from '../../definitions/duration.ts';
import type { AuditEvent, RunKind, RunMessageSync, RunState, RunStatus, StepState } from '../../workflows/definitions.ts';
import { APPROVE_ACTION, encodeGate, REJECT_ACTION } from '../ids.ts';
import type { Block } from './drill-result.ts';
import { clip, clock, code, context, decisionButtons, escape, listed, MAX_BLOCKS, MAX_HEADER, person, section, type RunBlock, type RunSlackMessage } from './kit.ts';
import { checklistBlocks, failoverBlocks, rolloutBlocks } from './run-sections.ts';

/**
 * A run's Slack message, built from the run as the workflow last recorded it: what it is and
 * where it stands, who started it, the gate it waits at (with Approve and Reject), its steps, and
 * what its kind measures (a rollout's guards, a failover's RTO clock, a checklist's items).
 * Pure: the same run and the same `now` give the same message.
 */
export type RunView = Pick<RunMessageSync, 'run' | 'failover' | 'rollout' | 'checklist'>;

const KIND_TITLE: Record<RunKind, string> = {
  runbook: 'Runbook run',
  backup: 'Backup',
  drill: 'Restore drill',
  failover: 'Failover',
  rollout: 'Rollout',
  checklist: 'Go-live checklist',
};

const RUN_EMOJI: Record<RunStatus, string> = {
  running: ':arrows_counterclockwise:',
  'waiting-approval': ':raised_hand:',
  paused: ':double_vertical_bar:',
  'rolling-back': ':rewind:',
  succeeded: ':white_check_mark:',
  failed: ':x:',
  aborted: ':no_entry_sign:',
};

export const STEP_EMOJI: Record<StepState['status'], string> = {
  pending: ':white_circle:',
  running: ':arrows_counterclockwise:',
  waiting: ':hourglass_flowing_sand:',
  succeeded: ':white_check_mark:',
  failed: ':x:',
  skipped: ':fast_forward:',
  interrupted: ':warning:',
};

const MAX_ERROR = 300;

/** The words a person reads for the run's status; a rollout and a checklist say theirs. */
function statusWord(view: RunView): string {
  if (view.rollout) return view.rollout.status;
  if (view.checklist) return view.checklist.status;
  return view.run.state.status;
}

/** What an approval step's decision says: "approved by <@U…>: comment". */
function decisionText(step: StepState): string | undefined {
  if (step.kind !== 'approval' || step.actor === undefined) return undefined;
  const verb = step.status === 'succeeded' ? 'approved' : step.status === 'failed' ? 'rejected' : undefined;
  if (verb === undefined) return undefined;
  return `${verb} by ${person(step.actor)}${step.comment ? `: ${escape(clip(step.comment, MAX_ERROR))}` : ''}`;
}

export function stepLine(step: StepState): string {
  const parts = [`${STEP_EMOJI[step.status]} ${code(step.id)} ${step.status}`];
  const decided = decisionText(step);
  if (decided !== undefined) parts[0] = `${STEP_EMOJI[step.status]} ${code(step.id)} ${decided}`;
  else if (step.status === 'skipped' && step.actor !== undefined) parts.push(`by ${person(step.actor)}`);
  if (step.durationMs !== undefined && step.kind === 'action' && step.status === 'succeeded') parts.push(`in ${formatMeasured(step.durationMs)}`);
  if (step.error !== undefined && decided === undefined) parts.push(`— ${escape(clip(step.error, MAX_ERROR))}`);
  return parts.join(' ');
}

function stepsBlock(state: RunState): Block | undefined {
  if (state.steps.length === 0 && state.rollback.length === 0) return undefined;
  const lines = state.steps.map(stepLine);
  if (state.rollback.length > 0) lines.push('*Rollback*', ...state.rollback.map(stepLine));
  return section(`*Steps*\n${listed(lines, 'steps')}`);
}

/** The gate the run waits at, with its buttons; or, once decided, the newest decision where the buttons were. */
function gateBlocks(state: RunState, now: Date): RunBlock[] {
  const { gate } = state;
  if (gate !== undefined && !FINISHED_STATUSES.has(state.status)) {
    const asks = gate.message ? `\n${escape(clip(gate.message, 1_000))}` : '';
    const who = `${gate.approvers.map(escape).join(' or ')}, not ${person(state.requestedBy)}`;
    return [
      section(`:raised_hand: *Waiting for approval:* ${code(gate.stepId)}${asks}\nWho may decide: ${who}. Closes ${clock(gate.deadline, now)}.`),
      decisionButtons(`gate:${gate.stepId}`, encodeGate({ runId: state.runId, stepId: gate.stepId }), 'Approve', 'Reject', { approve: APPROVE_ACTION, reject: REJECT_ACTION }),
    ];
  }
  const decided = state.steps.filter((step) => decisionText(step) !== undefined).sort((a, b) => (a.finishedAt ?? '').localeCompare(b.finishedAt ?? '')).at(-1);
  return decided ? [section(`${STEP_EMOJI[decided.status]} Gate ${code(decided.id)} ${decisionText(decided)}`)] : [];
}

const FINISHED_STATUSES = new Set<RunStatus>(['succeeded', 'failed', 'aborted']);

/** Who started the run, how (the channel they used), from where and why, as its run.started event says. */
function startedBy(view: RunView, now: Date, started?: AuditEvent): string {
  const { state } = view.run;
  const via = started?.channel ? ` via ${started.channel}` : '';
  const source = typeof started?.detail?.source === 'string' ? ` from ${code(clip(started.detail.source, 200))}` : '';
  const parts = [`Run ${code(state.runId)} of ${code(state.runbook)}, started by ${person(state.requestedBy)}${via}${source} at ${clock(state.startedAt, now)}`];
  if (typeof started?.detail?.comment === 'string') parts.push(`"${escape(clip(started.detail.comment, 500))}"`);
  if (state.finishedAt) parts.push(`finished ${clock(state.finishedAt, now)}`);
  return parts.join('; ');
}

/** The one-line summary: notification text and the fallback for clients without blocks. */
export function runMessageText(view: RunView): string {
  const { state, kind } = view.run;
  const waiting = state.gate && !FINISHED_STATUSES.has(state.status) ? `, waiting for approval of ${state.gate.stepId}` : '';
  const reason = state.reason && FINISHED_STATUSES.has(state.status) ? `: ${clip(state.reason, 500)}` : '';
  return escape(`${KIND_TITLE[kind]} ${state.runId} of ${state.service} ${statusWord(view)}${waiting}${reason}`);
}

/** `started`: the run's run.started event, which says how it was started; without it the message says who only. */
export function runMessage(view: RunView, now: Date, started?: AuditEvent): RunSlackMessage {
  const { state, kind } = view.run;
  const header: RunBlock = { type: 'header', text: { type: 'plain_text', text: clip(`${KIND_TITLE[kind]}: ${state.service}`, MAX_HEADER) } };
  const reason = state.reason ? `\n${escape(clip(state.reason, 1_000))}` : '';
  const status = section(`${RUN_EMOJI[state.status]} *${escape(statusWord(view))}*${state.paused && !FINISHED_STATUSES.has(state.status) ? ' (paused)' : ''}${reason}`);
  const body: RunBlock[] = [status];
  if (view.failover) body.push(...failoverBlocks(view.failover, now));
  if (view.rollout) body.push(...rolloutBlocks(view.rollout, now));
  if (view.checklist) {
    body.push(...checklistBlocks(view.checklist, now));
  } else {
    body.push(...gateBlocks(state, now));
    const steps = stepsBlock(state);
    if (steps) body.push(steps);
  }
  const footer = context(startedBy(view, now, started));
  // Slack refuses a message of more than 50 blocks: the newest detail gives way, never the header or the footer.
  const room = MAX_BLOCKS - 2;
  const kept = body.length > room ? [...body.slice(0, room - 1), context(`_${body.length - room + 1} more blocks not shown; \`golive status ${escape(state.runId)}\` has them all_`)] : body;
  return { text: runMessageText(view), blocks: [header, ...kept, footer] };
}
