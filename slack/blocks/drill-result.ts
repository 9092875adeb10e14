import { formatBytes } from '../../definitions/backup-manifest.ts';
import { formatMeasured, formatSkew } from '../../definitions/duration.ts';
import type { DrillRecord } from '../../workflows/definitions.ts';
import { escape } from './kit.ts';

/** The few Block Kit shapes golive sends; Slack documents each at api.slack.com/reference/block-kit. */
export interface TextObject {
  type: 'plain_text' | 'mrkdwn';
  text: string;
}
export type Block =
  | { type: 'header'; text: TextObject & { type: 'plain_text' } }
  | { type: 'section'; text?: TextObject; fields?: TextObject[] }
  | { type: 'context'; elements: TextObject[] }
  | { type: 'divider' };

export interface SlackMessage {
  /** Shown in notifications and by clients that cannot render blocks. */
  text: string;
  blocks: Block[];
}

/** Slack caps a section's text at 3000 characters and a message at 50 blocks. */
const MAX_ERROR_CHARS = 1_000;
const MAX_FAILED_STEPS = 5;

const clip = (text: string) => (text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}...` : text);
const mrkdwn = (text: string): TextObject => ({ type: 'mrkdwn', text });


/** "2h5m (objective 24h, met)", "12.3s (+ 5m 0s paused; objective 15m, met)" or "not measured (objective 24h)". */
function measuredAgainst(measuredMs: number | undefined, objective: string, objectiveMs: number, pausedMs = 0): string {
  if (measuredMs === undefined) return `not measured (objective ${objective})`;
  const verdict = measuredMs <= objectiveMs ? 'met' : 'missed';
  const paused = pausedMs > 0 ? `+ ${formatMeasured(pausedMs)} paused; ` : '';
  return `${formatMeasured(measuredMs)} (${paused}objective ${objective}, ${verdict})`;
}

function rpoSource(record: DrillRecord): string {
  const { newestCommit, rpoClock } = record.measured;
  if (newestCommit === undefined) return '';
  const source = record.measured.rpoSource === 'heartbeat' ? 'newest heartbeat' : 'backup snapshot';
  return `\nfrom ${source} ${newestCommit}${rpoClock === undefined ? '' : `, on the ${rpoClock} clock`}`;
}

/** The worker's and the source's clocks at T_d, for the context line. */
function clocks(record: DrillRecord): string {
  const { skewMs, rpoClock } = record.measured;
  if (skewMs !== undefined) return ` (worker clock; source clock ${formatSkew(skewMs)})`;
  return rpoClock === 'worker' ? ' (worker clock; source clock not read)' : '';
}

function backupText(record: DrillRecord): string {
  const backup = record.backup;
  if (backup === undefined) return 'none restored';
  return `\`${escape(backup.backupId)}\`\ntaken ${backup.snapshotAt}, ${formatBytes(backup.bytes)}`;
}

/** The one-line summary: the notification text and the fallback for clients without blocks. */
export function drillResultText(record: DrillRecord): string {
  const verdict = record.status === 'passed' ? 'passed' : 'FAILED';
  const rpo = measuredAgainst(record.measured.rpoMs, record.objectives.rpo, record.objectives.rpoMs);
  const rto = measuredAgainst(record.measured.rtoMs, record.objectives.rto, record.objectives.rtoMs, record.measured.pausedMs);
  const reason = record.reason === undefined ? '' : `: ${escape(record.reason)}`;
  return `Restore drill ${verdict} for ${record.service}${reason}. RPO ${rpo}; RTO ${rto}. Run ${record.runId}.`;
}

/** The Slack message announcing a finished restore-verification drill. */
export function drillResultMessage(record: DrillRecord): SlackMessage {
  const passed = record.status === 'passed';
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: `Restore drill ${passed ? 'passed' : 'FAILED'}: ${record.service}` } },
  ];
  if (record.reason !== undefined) blocks.push({ type: 'section', text: mrkdwn(`*Reason:* ${escape(clip(record.reason))}`) });
  blocks.push({
    type: 'section',
    fields: [
      mrkdwn(`*RPO (data loss)*\n${measuredAgainst(record.measured.rpoMs, record.objectives.rpo, record.objectives.rpoMs)}${rpoSource(record)}`),
      mrkdwn(`*RTO (recovery time)*\n${measuredAgainst(record.measured.rtoMs, record.objectives.rto, record.objectives.rtoMs, record.measured.pausedMs)}`),
      mrkdwn(`*Backup used*\n${backupText(record)}`),
      mrkdwn(`*Runbook*\n${escape(record.runbook)} (${escape(record.strategy)})`),
    ],
  });
  const notes = (record.measured.notes ?? []).filter((note) => !record.reason?.includes(note));
  if (notes.length > 0) blocks.push({ type: 'section', text: mrkdwn(`*Notes*\n${notes.map((note) => `- ${escape(clip(note))}`).join('\n')}`) });
  const failedSteps = record.steps.filter((step) => step.status === 'failed').slice(0, MAX_FAILED_STEPS);
  for (const step of failedSteps) {
    blocks.push({ type: 'section', text: mrkdwn(`*Step ${escape(step.id)} failed:* ${escape(clip(step.error ?? 'no error recorded'))}`) });
  }
  const started = record.trigger === 'schedule' ? 'scheduled' : `started by ${escape(record.requestedBy)}`;
  blocks.push({
    type: 'context',
    elements: [mrkdwn(`Run \`${escape(record.runId)}\`, ${started}. Disaster declared ${record.declaredAt}${clocks(record)}; finished ${record.finishedAt}.`)],
  });
  return { text: drillResultText(record), blocks };
}
