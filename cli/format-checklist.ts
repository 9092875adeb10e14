import { summarizeEvidence } from '../definitions/checklist-record.ts';
import type { ChecklistItemRecord, ChecklistRecord } from '../workflows/definitions.ts';
import { formatTable } from './context.ts';
import { formatTime } from './format-run.ts';

/** What one item came to, in a table cell: the evidence, why it failed, what a waiver or sign-off said, or who may decide it. */
export function itemDetail(item: ChecklistItemRecord): string {
  if (item.waiver) return `waived: ${item.waiver.comment ?? ''}${item.reason ? ` (it failed: ${item.reason})` : ''}`;
  if (item.status === 'failed') return item.reason ?? '';
  if (item.status === 'waiting-sign-off') return `needs ${(item.approvers ?? []).join(' or ')}`;
  if (item.status === 'checking') return `checking (${item.action ?? 'action'})`;
  if (item.signedOff) return item.signedOff.comment ?? '';
  return summarizeEvidence(item.evidence);
}

const decidedBy = (item: ChecklistItemRecord) => (item.waiver ?? item.signedOff ?? item.rejected)?.actor ?? '';

function itemRows(items: readonly ChecklistItemRecord[]): string[][] {
  return [
    ['ITEM', 'STATUS', 'VERIFIED BY', 'REQUIRED', 'WHO', 'DETAIL'],
    ...items.map((item) => [item.id, item.status, item.verification, item.required ? 'yes' : 'optional', decidedBy(item), itemDetail(item)]),
  ];
}

function verdict(record: ChecklistRecord): string {
  if (record.status === 'passed') return 'gate PASSED: every required item passed or was waived';
  if (record.status === 'running') return `gate open: ${record.summary.open} item(s) still to decide, until ${formatTime(record.deadline)}`;
  return `gate ${record.status === 'aborted' ? 'ABORTED' : 'DID NOT PASS'}: ${record.reason ?? 'no reason recorded'}`;
}

/** The commands that decide what is still open, while the run is. */
function hints(record: ChecklistRecord): string[] {
  if (record.status !== 'running') return [];
  const { runId, requestedBy } = record;
  const lines: string[] = [];
  if (record.items.some((item) => item.status === 'waiting-sign-off')) {
    lines.push(`sign off:  golive checklist sign-off ${runId} ITEM --comment "why"   (someone holding the item's role, not ${requestedBy})`);
  }
  if (record.items.some((item) => item.required && (item.status === 'failed' || item.status === 'waiting-sign-off'))) {
    lines.push(`waive:     golive checklist waive ${runId} ITEM --reason "why"   (a release manager other than ${requestedBy})`);
  }
  return lines;
}

/** What `golive checklist status` prints: the verdict, then every item grouped by phase with its evidence or reason and who decided it. */
export function formatChecklist(record: ChecklistRecord): string {
  const { summary } = record;
  const lines = [
    `checklist run ${record.runId}: ${record.status.toUpperCase()}  (checklist ${record.checklist}, service ${record.service}, requested by ${record.requestedBy}${record.rollout ? `, gates rollout ${record.rollout}` : ''})`,
    `started ${formatTime(record.startedAt)}, ${record.finishedAt ? `finished ${formatTime(record.finishedAt)}` : `sign-offs until ${formatTime(record.deadline)}`}`,
    `${summary.total} items (${summary.required} required): ${summary.passed} passed, ${summary.failed} failed, ${summary.waived} waived, ${summary.open} open`,
    verdict(record),
  ];
  const phases = [...new Set(record.items.map((item) => item.phase))];
  for (const phase of phases) lines.push('', `${phase}:`, formatTable(itemRows(record.items.filter((item) => item.phase === phase))));
  const more = hints(record);
  if (more.length > 0) lines.push('', ...more);
  return lines.join('\n');
}

/** What `golive checklist list` prints: one row per run, newest first. */
export function formatChecklistRuns(runs: readonly ChecklistRecord[], service?: string): string {
  if (runs.length === 0) {
    return `no checklist runs${service ? ` of service ${service}` : ''} recorded yet: start one with \`golive checklist run CHECKLIST --service SERVICE\``;
  }
  return formatTable([
    ['RUN', 'SERVICE', 'CHECKLIST', 'STATUS', 'PASSED', 'FAILED', 'WAIVED', 'OPEN', 'REQUESTED BY', 'STARTED'],
    ...runs.map((record) => [
      record.runId, record.service, record.checklist, record.status, `${record.summary.passed}/${record.summary.total}`,
      String(record.summary.failed), String(record.summary.waived), String(record.summary.open), record.requestedBy, formatTime(record.startedAt),
    ]),
  ]);
}

/** The items whose status changed between two readings, one line each, for `checklist run --wait`. */
export function itemChanges(before: ChecklistRecord | undefined, now: ChecklistRecord): string[] {
  const was = new Map(before?.items.map((item) => [item.id, item.status]));
  return now.items
    .filter((item) => item.status !== (was.get(item.id) ?? 'pending'))
    .map((item) => {
      const who = decidedBy(item);
      const detail = itemDetail(item);
      return `${formatTime(item.finishedAt ?? item.startedAt ?? new Date().toISOString()).slice(11)}  ${item.id}  ${item.status}${who ? ` by ${who}` : ''}${detail ? `: ${detail}` : ''}`;
    });
}
