import { formatDuration } from '../definitions/duration.ts';
import { ROLLOUT_FINISHED, type GuardReading, type RolloutRecord } from '../workflows/definitions.ts';
import { formatTable } from './context.ts';
import { formatTime } from './format-run.ts';

/** `0.0123`, `12.5`, `-`: a guard's value as a person compares it with its threshold. */
function formatValue(value: number | null): string {
  return value === null ? '-' : String(Number(value.toPrecision(4)));
}

/** A guard's latest reading in words: ok, a breach (and how many in a row), or why there was nothing to judge. */
export function guardState(reading: GuardReading): string {
  if (reading.ok === true) return 'ok';
  if (reading.ok === false) return reading.breaches > 1 ? `BREACH (${reading.breaches} in a row)` : 'BREACH';
  const why = reading.error ? `no answer: ${reading.error}` : 'no data';
  return reading.inconclusive > 1 ? `${why} (${reading.inconclusive} in a row)` : why;
}

/** `phase 2/3 at 50%; next phase at …`: where the rollout stands and what happens next if nothing breaches. */
function progressLine(record: RolloutRecord): string {
  const phase = record.phase === 0 ? `not started (0/${record.phases.length})` : `phase ${record.phase}/${record.phases.length}`;
  const flag = `flag ${record.flag.key} (${record.flag.provider}, ${record.flag.environment}) at ${record.percent}%`;
  if (ROLLOUT_FINISHED.includes(record.status)) return `${flag}; ${phase} when it ended`;
  if (record.nextPhaseAt) {
    const last = record.phase === record.phases.length;
    return `${flag}; ${phase}; ${last ? 'bake ends' : 'next phase'} at ${formatTime(record.nextPhaseAt)} if no guard breaches`;
  }
  if (record.status === 'waiting-approval') return `${flag}; ${phase}; waiting for an approval: \`golive rollout approve ${record.runId}\``;
  if (record.status === 'paused') return `${flag}; ${phase}; held: \`golive rollout resume ${record.runId}\``;
  return `${flag}; ${phase}`;
}

function guardsTable(guards: GuardReading[]): string {
  if (guards.length === 0) return 'guards: none read yet, or the plan has none';
  return formatTable([
    ['GUARD', 'VALUE', 'BREACHES AT', 'STATE', 'READ AT'],
    ...guards.map((reading) => [reading.name, formatValue(reading.value), reading.threshold, guardState(reading), formatTime(reading.at)]),
  ]);
}

function phasesTable(record: RolloutRecord): string {
  return formatTable([
    ['PHASE', 'PERCENT', 'BAKE', 'STATUS', 'STARTED', 'BAKE ENDS', 'APPROVED BY'],
    ...record.phases.map((phase, index) => [
      String(index + 1), `${phase.percent}%`, phase.bake, phase.status, formatTime(phase.startedAt), formatTime(phase.bakeEndsAt), phase.approvedBy ?? '',
    ]),
  ]);
}

const took = (step: RolloutRecord['steps'][number]) =>
  step.startedAt && step.finishedAt ? formatDuration(Date.parse(step.finishedAt) - Date.parse(step.startedAt)) : '';

/** What `golive rollout status` prints: where the flag stands, each guard against its threshold, the phases, the steps and who acted. */
export function formatRollout(record: RolloutRecord): string {
  const lines = [
    `rollout ${record.runId}: ${record.status.toUpperCase()}  (service ${record.service}, plan ${record.plan})`,
    progressLine(record),
    `requested by ${record.requestedBy}, started ${formatTime(record.startedAt)}${record.finishedAt ? `, finished ${formatTime(record.finishedAt)}` : ''}`,
  ];
  const { gate, rolledBack } = record;
  if (gate) lines.push(`gate: checklist ${gate.checklist} (run ${gate.runId}): ${gate.status}${gate.reason ? `: ${gate.reason}` : ''}`);
  if (rolledBack) lines.push(`rolled back from ${rolledBack.from}% to ${rolledBack.to}% at ${formatTime(rolledBack.at)} by ${rolledBack.by}: ${rolledBack.cause}`);
  if (record.reason && record.reason !== rolledBack?.cause) lines.push(`reason: ${record.reason}`);
  lines.push('', guardsTable(record.guards), '', phasesTable(record), '', formatTable([
    ['STEP', 'STATUS', 'STARTED', 'TOOK', 'ACTOR', 'DETAIL'],
    ...record.steps.map((step) => [step.id, step.status, formatTime(step.startedAt), took(step), step.actor ?? '', step.error ?? step.comment ?? '']),
  ]));
  return lines.join('\n');
}

/** What `golive rollout list` prints: one row per rollout, newest first. */
export function formatRollouts(records: RolloutRecord[], service?: string): string {
  if (records.length === 0) {
    const none = service === undefined ? 'no rollouts recorded yet' : `no rollouts of service ${service} recorded`;
    return `${none}: a release manager starts one with \`golive rollout start PLAN\`, or ad hoc with \`golive rollout start --flag KEY --service NAME\``;
  }
  return formatTable([
    ['RUN', 'SERVICE', 'FLAG', 'STATUS', 'PHASE', 'PERCENT', 'STARTED', 'BY'],
    ...records.map((record) => [
      record.runId, record.service, record.flag.key, record.status, `${record.phase}/${record.phases.length}`, `${record.percent}%`, formatTime(record.startedAt), record.requestedBy,
    ]),
  ]);
}
