import { formatAge, formatMeasured } from '../definitions/duration.ts';
import type { PostureReport } from '../runtime/posture.ts';
import type { RolloutStatusView } from '../runtime/rollouts.ts';
import type { DrillRecord, FailoverRecord, RunState } from '../workflows/definitions.ts';
import { drillResultText } from './blocks/drill-result.ts';
import { code, escape, person } from './blocks/kit.ts';

/**
 * What golive answers a person in Slack: short mrkdwn, shown only to them. Texts are pure functions
 * of what the runtime readers return; refusals keep the runtime's words.
 */

/** An answer only its reader sees, which never replaces the message the click came from. */
export interface EphemeralReply {
  response_type: 'ephemeral';
  replace_original: false;
  text: string;
}

export const ephemeral = (text: string): EphemeralReply => ({ response_type: 'ephemeral', replace_original: false, text });


/** A Slack user id (U024BE7LH, W…): shown as a mention; any other actor (a CLI or API user) as written. */
const SLACK_USER = /\b[UW](?=[A-Z0-9]*\d)[A-Z0-9]{4,}\b/g;

/** A runtime message in mrkdwn: escaped, Slack user ids outside `code` shown as mentions. */
export function slackText(message: string): string {
  return message.split('`').map((part, index) => (index % 2 === 1 ? escape(part) : escape(part).replace(SLACK_USER, '<@$&>'))).join('`');
}

const when = (iso: string | undefined) => (iso === undefined ? '' : iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z'));

/** The answer to a start: the run id, and where the run goes on. */
export function startedText(what: string, runId: string, channel: string | undefined): string {
  const follow = channel === undefined ? `follow it with \`/golive status ${runId}\`` : `follow it in its message in <#${channel}>`;
  return `:rocket: Started ${what}: ${code(runId)}. It runs on its own; ${follow}.`;
}

/** A control the run applied, in the run's own words. */
export function appliedText(message: string): string {
  return `:white_check_mark: ${slackText(message)}`;
}

/** A control or a start golive refused, and why: nothing changed. */
export function refusedText(message: string): string {
  return `:no_entry: ${slackText(message)}`;
}

/** golive could not do it for a reason of its own (a bug, an outage): the details are in the server's log. */
export const FAILED_TEXT = ':warning: golive could not do that: an internal error, logged on the server. Nothing was started or changed by this request; try again, or ask whoever runs golive.';

function stepsLine(steps: RunState['steps']): string {
  const done = steps.filter((step) => step.status === 'succeeded' || step.status === 'skipped').length;
  return `${done} of ${steps.length} steps done`;
}

/** `/golive status RUN`: where any run stands. */
export function runStatusText(state: RunState): string {
  const lines = [
    `*Run ${code(state.runId)}*: ${escape(state.runbook)} for ${escape(state.service)} is *${state.status}*${state.paused ? ' (paused)' : ''}, ${stepsLine(state.steps)}.`,
    `Started by ${person(state.requestedBy)} at ${when(state.startedAt)}${state.finishedAt ? `, finished at ${when(state.finishedAt)}` : ''}.`,
  ];
  const { gate } = state;
  if (gate) {
    const asks = gate.message ? `: ${escape(gate.message)}` : '';
    lines.push(`Waiting at gate ${code(gate.stepId)} for ${gate.approvers.join(' or ')} until ${when(gate.deadline)}${asks}`);
  } else if (state.currentStep && !state.finishedAt) {
    lines.push(`Current step: ${code(state.currentStep)}.`);
  }
  if (state.reason) lines.push(`Reason: ${escape(state.reason)}`);
  return lines.join('\n');
}

function guardLine(guard: RolloutStatusView['guards'][number]): string {
  const verdict = guard.ok === null ? 'no verdict' : guard.ok ? 'ok' : '*BREACHED*';
  return `• ${escape(guard.name)}: ${guard.value ?? 'no data'} (breaches ${escape(guard.threshold)}), ${verdict}`;
}

/** `/golive rollout status RUN`: phase, percentage, what comes next, the guards. */
export function rolloutStatusText(view: RolloutStatusView): string {
  const lines = [
    `*Rollout ${code(view.runId)}* of plan ${escape(view.plan)} (${escape(view.service)}, flag ${code(view.flag)}): *${view.status}* at ${view.percent}%${view.phase > 0 ? ` (phase ${view.phase})` : ''}.`,
  ];
  if (view.nextPhaseAt) lines.push(`Next phase at ${when(view.nextPhaseAt)} unless a guard trips.`);
  if (view.status === 'waiting-approval') lines.push('Waiting for an approval: use the buttons on its message, or `/golive approve RUN`.');
  if (view.guards.length > 0) lines.push('Guards:', ...view.guards.map(guardLine));
  return lines.join('\n');
}

/** `/golive failover status RUN`: the outcome, RTO and exposure against the objectives, fencing. */
export function failoverStatusText(record: FailoverRecord): string {
  const kind = record.drill ? `Failover drill (environment ${escape(record.environment ?? '?')})` : 'Failover';
  const { rtoMs, exposure } = record.measured;
  const rto = rtoMs === undefined ? 'not measured' : `${formatMeasured(rtoMs)} (${record.verdict.rto})`;
  const seconds = exposure?.seconds;
  const rpo = seconds === undefined || seconds === null ? 'not measured' : `${formatMeasured(seconds * 1_000)} exposure (${record.verdict.rpo})`;
  const lines = [
    `*${kind} ${code(record.runId)}* of ${escape(record.runbook)} for ${escape(record.service)}: *${record.status}*.`,
    `Reason: ${escape(record.reason)} (requested by ${person(record.requestedBy)}).`,
    `RTO ${rto}, objective ${record.objectives.rto}. RPO ${rpo}, objective ${record.objectives.rpo}. Old primary: ${record.fenced}.`,
  ];
  if (record.outcome) lines.push(`Outcome: ${escape(record.outcome)}`);
  return lines.join('\n');
}

/** `/golive drill status RUN`: the drill's one-line result. */
export function drillStatusText(record: DrillRecord): string {
  return drillResultText(record);
}

/** `/golive drill history [SERVICE]`: the newest drills, one line each. */
export function drillHistoryText(drills: readonly DrillRecord[], service?: string): string {
  if (drills.length === 0) return `No drills recorded${service ? ` for ${escape(service)}` : ''} yet.`;
  const line = (drill: DrillRecord) => {
    const rpo = drill.measured.rpoMs === undefined ? 'not measured' : formatMeasured(drill.measured.rpoMs);
    const rto = drill.measured.rtoMs === undefined ? 'not measured' : formatMeasured(drill.measured.rtoMs);
    const verdict = drill.status === 'passed' ? 'passed' : '*FAILED*';
    return `• ${when(drill.finishedAt)} ${escape(drill.service)} ${verdict}: RPO ${rpo} (objective ${drill.objectives.rpo}), RTO ${rto} (objective ${drill.objectives.rto}), ${code(drill.runId)}`;
  };
  return [`*Drills${service ? ` of ${escape(service)}` : ''}*, newest first:`, ...drills.map(line)].join('\n');
}

const STATUS_ICON = { ok: ':large_green_circle:', stale: ':large_yellow_circle:', 'at-risk': ':red_circle:' } as const;

/** `/golive posture`: every protected service, judged, with what is wrong in words. */
export function postureText(report: PostureReport, now = Date.parse(report.at)): string {
  if (report.services.length === 0) {
    return 'No protected services: no runbook in the server\'s runbooks folder has spec.backup or spec.drill, and no backups or drills are recorded.';
  }
  const lines = [`*DR posture* at ${when(report.at)}:`];
  for (const service of report.services) {
    const backup = service.lastBackup ? `last backup ${formatAge(service.lastBackup.ageMs)} old` : 'no backup';
    const drill = service.lastDrill ? `last drill ${service.lastDrill.status} ${formatAge(now - Date.parse(service.lastDrill.finishedAt))} ago` : 'never drilled';
    lines.push(`${STATUS_ICON[service.status]} *${escape(service.service)}* ${service.status}: ${backup}, ${drill}.`);
    for (const problem of service.problems.slice(0, 3)) lines.push(`    • ${escape(problem)}`);
  }
  if (report.unreadable.length > 0) lines.push(`${report.unreadable.length} runbook file(s) could not be read; see \`golive validate\`.`);
  return lines.join('\n');
}
