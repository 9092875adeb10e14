import { formatBytes, type BackupEntry } from '../definitions/backup-manifest.ts';
import { formatDuration, formatMeasured, formatSkew } from '../definitions/duration.ts';
import { firstSchedule, type ScheduleKind } from '../runtime/schedule-kinds.ts';
import type { ScheduleView } from '../runtime/schedule-views.ts';
import type { ScheduleNote } from '../store/schedule-notes.ts';
import type { DrillRecord, RunState } from '../workflows/definitions.ts';
import { formatTable } from './context.ts';
import { formatTime } from './format-run.ts';

function objectiveRow(name: 'RPO' | 'RTO', measured: number | undefined, objective: string, objectiveMs: number, note = ''): string[] {
  if (measured === undefined) return [name, 'not measured', `objective ${objective}`, ''];
  return [name, `measured ${formatMeasured(measured)}${note}`, `objective ${objective}`, measured <= objectiveMs ? 'met' : 'MISSED'];
}

/** " (newest heartbeat 2026-03-10 11:59:59Z, source clock)": what RPO was measured from, and on which clock. */
function rpoNote(measured: DrillRecord['measured']): string {
  if (measured.rpoSource === undefined) return '';
  const clock = measured.rpoClock === undefined ? '' : `, ${measured.rpoClock} clock`;
  return ` (newest ${measured.rpoSource} ${formatTime(measured.newestCommit)}${clock})`;
}

/** " (+ 5m 0s paused)": time the run was paused before recovery, not counted in RTO. */
function pausedNote(measured: DrillRecord['measured']): string {
  return measured.pausedMs ? ` (+ ${formatMeasured(measured.pausedMs)} paused)` : '';
}

/** T_d on the worker's clock, and how far the source's clock was from it. */
function declaredLine(record: DrillRecord): string {
  const { skewMs, rpoClock } = record.measured;
  const clocks = skewMs !== undefined ? ` on the worker clock (source clock ${formatSkew(skewMs)})` : rpoClock === 'worker' ? ' on the worker clock (source clock not read)' : '';
  return `disaster declared (T_d) ${formatTime(record.declaredAt)}${clocks}${record.recoveredAt ? `, recovered ${formatTime(record.recoveredAt)}` : ''}`;
}

/** What `golive drill run` prints: the verdict, the numbers against the objectives and what qualifies them, each step. */
export function formatDrill(record: DrillRecord): string {
  const { measured, objectives, backup } = record;
  const lines = [`drill ${record.runId}: ${record.status === 'passed' ? 'PASSED' : 'FAILED'}  (service ${record.service}, ${record.strategy}, ${record.trigger})`];
  if (record.reason) lines.push(`reason: ${record.reason}`);
  if (backup) lines.push(`backup ${backup.backupId}  snapshot ${formatTime(backup.snapshotAt)}  ${formatBytes(backup.bytes)}  ${backup.location}`);
  lines.push(declaredLine(record));
  lines.push('', formatTable([
    objectiveRow('RPO', measured.rpoMs, objectives.rpo, objectives.rpoMs, rpoNote(measured)),
    objectiveRow('RTO', measured.rtoMs, objectives.rto, objectives.rtoMs, pausedNote(measured)),
  ]));
  const notes = (measured.notes ?? []).filter((note) => !record.reason?.includes(note));
  if (notes.length > 0) lines.push(...notes.map((note) => `note: ${note}`));
  lines.push('', formatTable([
    ['STEP', 'STATUS', 'TOOK', 'DETAIL'],
    ...record.steps.map((step) => [step.id, step.status, step.durationMs === undefined ? '' : formatDuration(step.durationMs), step.error ?? '']),
  ]));
  return lines.join('\n');
}

/** What `golive backup run` prints, from the run's state. */
export function formatBackup(state: RunState): string {
  const taken = state.steps.find((step) => step.action === 'backup.create');
  const result = (taken?.result ?? {}) as Record<string, unknown>;
  const lines = [`backup run ${state.runId}: ${state.status}  (service ${state.service})`];
  if (state.reason) lines.push(`reason: ${state.reason}`);
  if (typeof result.backupId === 'string') {
    lines.push(
      `backup ${result.backupId}  ${formatBytes(Number(result.bytes ?? 0))}  ${result.tables} tables, ${result.rows} rows`,
      `snapshot ${formatTime(String(result.snapshotAt))}  sha256 ${String(result.sha256).slice(0, 16)}…`,
      `stored at ${result.location}`,
    );
  }
  const pruned = state.steps.find((step) => step.action === 'backup.prune')?.result as { deleted?: string[]; kept?: number } | undefined;
  if (pruned?.deleted) lines.push(`retention: kept ${pruned.kept}, deleted ${pruned.deleted.length}${pruned.deleted.length > 0 ? ` (${pruned.deleted.join(', ')})` : ''}`);
  return lines.join('\n');
}

export function formatBackupList(entries: BackupEntry[], store: string): string {
  if (entries.length === 0) return `no complete backups in ${store}: take one with \`golive backup run RUNBOOK\``;
  return formatTable([
    ['BACKUP', 'SNAPSHOT', 'SIZE', 'TABLES', 'ROWS', 'SHA256', 'LOCATION'],
    ...entries.map(({ manifest, location }) => [
      manifest.backupId,
      formatTime(manifest.snapshotAt),
      formatBytes(manifest.bytes),
      String(manifest.tables.length),
      String(manifest.tables.reduce((sum, table) => sum + table.rows, 0)),
      `${manifest.sha256.slice(0, 12)}…`,
      location,
    ]),
  ]);
}

/** "2026-03-10 11:59:59Z  pause by ana: maintenance window". */
function noteLine(note: ScheduleNote): string {
  return `${formatTime(note.at)}  ${note.control}${note.forced ? ' --force' : ''} by ${note.actor}${note.note ? `: ${note.note}` : ''}`;
}

/**
 * What `golive drill|backup|failover schedules` print: one row per schedule (a failover drill's with its
 * environment and the incident commander it runs as), then each one's latest notes.
 */
export function formatSchedules(schedules: ScheduleView[], kind: ScheduleKind): string {
  if (schedules.length === 0) return `no ${kind} schedules yet: create one with \`${firstSchedule(kind)}\``;
  const failover = kind === 'failover-drill';
  const table = formatTable([
    ['SCHEDULE', 'SERVICE', ...(failover ? ['ENVIRONMENT', 'RUNS AS'] : []), 'CRON', 'STATE', 'NEXT RUN', 'LAST RUN', 'LAST RESULT', 'RUNBOOK FILE'],
    ...schedules.map((schedule) => [
      schedule.scheduleId,
      schedule.service,
      ...(failover ? [schedule.environment ?? '?', schedule.runsAs ?? '?'] : []),
      `${schedule.cron}${schedule.timezone ? ` (${schedule.timezone})` : ''}`,
      schedule.paused ? `paused${schedule.note ? `: ${schedule.note}` : ''}` : 'active',
      formatTime(schedule.nextRun),
      schedule.lastRun ? `${schedule.lastRun.runId}` : '',
      schedule.lastResult ?? '',
      schedule.definition === 'changed since scheduled' ? 'changed since scheduled: run `schedule` again' : schedule.definition,
    ]),
  ]);
  const notes = schedules.filter((schedule) => (schedule.notes ?? []).length > 0)
    .flatMap((schedule) => ['', `${schedule.scheduleId} notes, newest first:`, ...(schedule.notes ?? []).map((note) => `  ${noteLine(note)}`)]);
  return [table, ...notes].join('\n');
}
