import { formatMeasured } from '../../definitions/duration.ts';
import type { AuditEvent } from '../../workflows/definitions.ts';
import { clip, code, escape, person } from './kit.ts';

/**
 * Which audit events get a reply in the thread of a run's message, and what it says: what a
 * person following the run wants notified of (a step done or failed, a decision, a pause, an
 * abort, a guard tripping, a rollback, the end). Step starts, gate openings and guard readings
 * show in the message itself.
 */

const MAX_REASON = 1_000;

function text(event: AuditEvent, key: string): string | undefined {
  const value = event.detail?.[key];
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** `: why` from the event's detail (escaped, clipped), or nothing. */
function why(event: AuditEvent, key = 'comment'): string {
  const value = text(event, key);
  return value === undefined ? '' : `: ${escape(clip(value, MAX_REASON))}`;
}

const step = (event: AuditEvent) => code(event.stepId ?? 'unknown');
const by = (event: AuditEvent) => `by ${person(event.actor)}`;

type Reply = (event: AuditEvent) => string | undefined;

const REPLIES: Record<string, Reply> = {
  'step.succeeded': (event) => {
    const ms = event.detail?.durationMs;
    return `:white_check_mark: Step ${step(event)} succeeded${typeof ms === 'number' ? ` in ${formatMeasured(ms)}` : ''}`;
  },
  'step.failed': (event) => `:x: Step ${step(event)} failed${why(event, 'error')}`,
  'step.skipped': (event) => `:fast_forward: Step ${step(event)} skipped ${by(event)}${why(event)}`,
  'step.interrupted': (event) => `:warning: Step ${step(event)} interrupted${event.actor === 'golive' ? '' : ` ${by(event)}`}${why(event, 'reason')}`,
  'approval.approved': (event) => `:white_check_mark: ${step(event)} approved ${by(event)}${why(event)}`,
  'approval.rejected': (event) => `:x: ${step(event)} rejected ${by(event)}${why(event)}`,
  'approval.timed-out': (event) => `:alarm_clock: Gate ${step(event)} timed out without a decision${text(event, 'then') ? ' and the run went on, as its plan says' : ''}`,
  'control.paused': (event) => `:double_vertical_bar: Paused ${by(event)}${why(event)}`,
  'control.resumed': (event) => `:arrow_forward: Resumed ${by(event)}${why(event)}`,
  'control.aborted': (event) => `:no_entry_sign: Aborted ${by(event)}${why(event)}`,
  'control.rollback': (event) => `:rewind: Rollback asked ${by(event)}${why(event)}`,
  'rollout.held': (event) => `:double_vertical_bar: Rollout held${why(event, 'reason')}`,
  'rollout.promoted': (event) => `:fast_forward: Bake ${step(event)} ended early ${by(event)}${why(event)}`,
  'guard.tripped': (event) => `:rotating_light: Guard ${code(text(event, 'guard') ?? 'unknown')} tripped${why(event, 'reason')}`,
  'gate.finished': (event) => `${event.detail?.passed === true ? ':white_check_mark: The go-live gate passed' : ':x: The go-live gate did not pass'}${why(event, 'reason')}`,
  'rollback.started': (event) => {
    const steps = Array.isArray(event.detail?.steps) ? event.detail.steps.map(String) : [];
    return `:rewind: Rolling back${steps.length > 0 ? `: ${clip(steps.map(code).join(', '), MAX_REASON)}` : ''}`;
  },
  'rollback.finished': (event) => {
    const failed = Array.isArray(event.detail?.failed) ? event.detail.failed.map(String) : [];
    return failed.length === 0 ? ':rewind: Rollback finished' : `:warning: Rollback incomplete: ${escape(clip(failed.join('; '), MAX_REASON))}`;
  },
  'rollback.withheld': (event) => `:octagonal_sign: Nothing rolled back: ${code(text(event, 'after') ?? 'a step')} may have applied an irreversible change; finish or repair by hand`,
  'exposure.forced': (event) => `:warning: ${person(event.actor)} went on past the RPO objective${why(event, 'problem')}`,
  'item.checked': (event) => `:white_check_mark: Item ${step(event)} passed its check`,
  'item.failed': (event) => `:x: Item ${step(event)} failed${why(event, 'reason')}`,
  'item.waived': (event) => `:ballot_box_with_check: Item ${step(event)} waived ${by(event)}${why(event, 'reason')}`,
  'run.preflight': (event) => (event.detail?.ok === false ? `:x: Pre-flight failed${why(event, 'error')}` : undefined),
  'run.verdict': (event) => `:x: Judged failed${why(event, 'reason')}`,
  'run.finished': (event) => {
    const status = text(event, 'status') ?? 'finished';
    const emoji = status === 'succeeded' || status === 'passed' ? ':white_check_mark:' : status === 'aborted' ? ':no_entry_sign:' : ':x:';
    return `${emoji} Run ${escape(status)}${why(event, 'reason')}`;
  },
};

/** The reply an event deserves in the thread, or undefined for the events the message alone shows. */
export function threadReply(event: AuditEvent): string | undefined {
  return Object.hasOwn(REPLIES, event.action) ? REPLIES[event.action]?.(event) : undefined;
}
