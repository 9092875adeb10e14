import { formatDuration } from '../definitions/duration.ts';
import type { RunSummary } from '../store/runs.ts';
import type { AuditEvent, GateWait, RunState, StepState } from '../workflows/definitions.ts';
import { formatTable } from './context.ts';

/** `2026-11-25 08:01:13Z`: an ISO timestamp as a table cell. */
export const formatTime = (iso: string | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');

export function formatRunList(runs: RunSummary[]): string {
  if (runs.length === 0) return 'no runs yet: start one with `golive run RUNBOOK`';
  return formatTable([
    ['RUN', 'KIND', 'STATUS', 'SERVICE', 'RUNBOOK', 'REQUESTED BY', 'STARTED', 'STEP'],
    ...runs.map((run) => [run.runId, run.kind, run.status, run.service, run.definitionName, run.requestedBy, formatTime(run.startedAt), run.currentStep ?? '']),
  ]);
}

function stepDetail(step: StepState): string {
  if (step.error) return step.error;
  if (step.actor) return `by ${step.actor}${step.comment ? `: ${step.comment}` : ''}`;
  return '';
}

function stepRows(steps: StepState[]): string[][] {
  return steps.map((step, index) => [
    String(index + 1),
    step.id,
    step.action ?? step.kind,
    step.status,
    step.durationMs === undefined ? '' : formatDuration(step.durationMs),
    stepDetail(step),
  ]);
}

/** A waiting gate: what it asks, who may decide it, until when, and the commands that decide it. */
export function formatGate(gate: GateWait, runId: string, requestedBy: string, at = Date.now()): string {
  const left = Date.parse(gate.deadline) - at;
  return [
    `waiting at approval gate ${gate.stepId} since ${formatTime(gate.since)}${gate.message ? `: ${gate.message}` : ''}`,
    `  may decide: anyone holding ${gate.approvers.join(' or ')}, except ${requestedBy} (who requested the run)`,
    `  deadline:   ${formatTime(gate.deadline)} (${left > 0 ? `in ${formatDuration(left)}` : 'now'}); without a decision the run rolls back`,
    `  approve:    golive approve ${runId} --comment "why"`,
    `  reject:     golive reject ${runId} --comment "why"`,
  ].join('\n');
}

export function formatRunState(state: RunState): string {
  const elapsed = Date.parse(state.finishedAt ?? new Date().toISOString()) - Date.parse(state.startedAt);
  const lines = [
    `run ${state.runId}  (runbook ${state.runbook}, service ${state.service}, ${state.strategy})`,
    `status ${state.status}${state.paused && state.status !== 'paused' ? ' (pause requested)' : ''}  requested by ${state.requestedBy}  started ${formatTime(state.startedAt)}  ${state.finishedAt ? 'took' : 'running for'} ${formatDuration(elapsed)}`,
  ];
  if (state.reason) lines.push(`reason: ${state.reason}`);
  if (state.gate) lines.push('', formatGate(state.gate, state.runId, state.requestedBy));
  lines.push('', formatTable([['#', 'STEP', 'ACTION', 'STATUS', 'TOOK', 'DETAIL'], ...stepRows(state.steps)]));
  if (state.rollback.length > 0) {
    lines.push('', 'rollback:', formatTable([['#', 'STEP', 'ACTION', 'STATUS', 'TOOK', 'DETAIL'], ...stepRows(state.rollback)]));
  }
  return lines.join('\n');
}

function eventDetail(event: AuditEvent): string {
  const detail = event.detail ?? {};
  return Object.entries(detail)
    .filter(([, value]) => value !== undefined && value !== null && value !== '')
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
}

export function formatTimeline(events: AuditEvent[]): string {
  return formatTable([
    ['AT', 'WHO', 'WHAT', 'STEP', 'DETAIL'],
    ...events.map((event) => [event.at.replace('T', ' ').replace('Z', ''), event.channel ? `${event.actor} (${event.channel})` : event.actor, event.action, event.stepId ?? '', eventDetail(event)]),
  ]);
}
