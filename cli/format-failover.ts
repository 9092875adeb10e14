import { formatBytes } from '../definitions/backup-manifest.ts';
import { formatDuration, formatMeasured } from '../definitions/duration.ts';
import type { Exposure, FailoverRecord, FenceState } from '../workflows/definitions.ts';
import { formatTable } from './context.ts';
import { formatTime } from './format-run.ts';

type Verdict = FailoverRecord['verdict']['rto'];

const VERDICT: Record<Verdict, string> = { met: 'met', missed: 'MISSED', 'not-measured': '' };

/** Whether the old primary can still take writes, in words: never assumed, always said. */
const FENCED: Record<FenceState, string> = {
  fenced: 'fenced, it takes no more writes',
  'not-primary': 'not a primary any more when the fence step reached it',
  unreachable: 'UNREACHABLE when the fence step ran: it may still take writes if it comes back',
  'not-run': 'NOT FENCED: no fence step ran, it may still take writes',
};

/** `12.0 KB, 3.2s (primary and standby, step recheck-lag)`: the data a failover puts at risk. */
export function formatExposure(exposure: Exposure): string {
  const bytes = exposure.bytes === null ? 'bytes unknown' : formatBytes(exposure.bytes);
  const seconds = exposure.seconds === null ? 'seconds unknown' : formatMeasured(exposure.seconds * 1_000);
  const source = exposure.source === 'primary' ? 'primary and standby' : 'standby alone, primary unreachable: an upper bound';
  return `${bytes}, ${seconds} (${source}${exposure.stepId ? `, step ${exposure.stepId}` : ''})`;
}

function rtoRow(record: FailoverRecord): string[] {
  const { rtoMs, pausedMs } = record.measured;
  const measured = rtoMs === undefined ? 'not measured' : `measured ${formatMeasured(rtoMs)}${pausedMs ? ` (+ ${formatMeasured(pausedMs)} paused)` : ''}`;
  return ['RTO', measured, `objective ${record.objectives.rto}`, VERDICT[record.verdict.rto]];
}

function exposureRow(record: FailoverRecord): string[] {
  const { exposure } = record.measured;
  const measured = exposure === undefined ? 'not measured' : formatExposure(exposure);
  return ['RPO', `exposure ${measured}`, `objective ${record.objectives.rpo}`, VERDICT[record.verdict.rpo]];
}

const took = (step: FailoverRecord['steps'][number]) =>
  step.startedAt && step.finishedAt ? formatDuration(Date.parse(step.finishedAt) - Date.parse(step.startedAt)) : '';

/** What `golive failover status` prints: the outcome, the numbers against the objectives, fencing, each step and who acted. */
export function formatFailover(record: FailoverRecord): string {
  const environment = record.environment ? `, environment ${record.environment}` : '';
  const lines = [
    `${record.drill ? 'failover drill' : 'failover'} ${record.runId}: ${record.status.toUpperCase()}  (service ${record.service}, runbook ${record.runbook}, ${record.strategy}${environment})`,
    `reason: ${record.reason}  (requested by ${record.requestedBy})`,
  ];
  if (record.outcome) lines.push(`outcome: ${record.outcome}`);
  if (record.forced) lines.push(`forced past the RPO objective by ${record.forced.by}: ${record.forced.reason}`);
  const recovered = record.recoveredAt ? `, recovered ${formatTime(record.recoveredAt)}` : ', not recovered yet';
  lines.push(`declared (T_d) ${formatTime(record.declaredAt)}${recovered}${record.finishedAt ? `, finished ${formatTime(record.finishedAt)}` : ''}`);
  lines.push('', formatTable([rtoRow(record), exposureRow(record)]));
  const checks = record.measured.checks;
  if (checks.length > 1) lines.push('exposure checks:', ...checks.map((check) => `  ${formatTime(check.at)}  ${formatExposure(check)}`));
  lines.push(`old primary: ${FENCED[record.fenced]}`);
  const { promoted } = record;
  if (promoted) lines.push(`promoted ${promoted.target}${promoted.timeline === undefined ? '' : ` (timeline ${promoted.timeline})`}${promoted.at ? ` at ${formatTime(promoted.at)}` : ''}`);
  lines.push('', formatTable([
    ['STEP', 'STATUS', 'STARTED', 'TOOK', 'ACTOR', 'DETAIL'],
    ...record.steps.map((step) => [step.id, step.status, formatTime(step.startedAt), took(step), step.actor ?? '', step.error ?? '']),
  ]));
  return lines.join('\n');
}

const measuredRto = (record: FailoverRecord) => (record.measured.rtoMs === undefined ? '' : formatMeasured(record.measured.rtoMs));

const exposureCell = ({ measured: { exposure } }: FailoverRecord) => {
  if (!exposure) return '';
  return exposure.seconds === null ? (exposure.bytes === null ? '?' : formatBytes(exposure.bytes)) : formatMeasured(exposure.seconds * 1_000);
};

/** What `golive failover list` prints: one row per failover, newest first. */
export function formatFailovers(failovers: FailoverRecord[]): string {
  if (failovers.length === 0) return 'no failovers recorded yet: an incident commander starts one with `golive failover start RUNBOOK --reason TEXT`, or drills one with `golive failover drill RUNBOOK --environment NAME`';
  return formatTable([
    ['RUN', 'SERVICE', 'KIND', 'STATUS', 'DECLARED', 'RTO', 'OBJ', 'EXPOSURE', 'OBJ', 'FENCED', 'REASON'],
    ...failovers.map((record) => [
      record.runId,
      record.service,
      record.drill ? `drill${record.environment ? ` (${record.environment})` : ''}` : 'failover',
      record.status,
      formatTime(record.declaredAt),
      measuredRto(record),
      record.objectives.rto,
      exposureCell(record),
      record.objectives.rpo,
      record.fenced,
      record.reason,
    ]),
  ]);
}
