import { formatAge, formatMeasured } from '../../definitions/duration.ts';
import type { ServicePosture } from '../../definitions/posture.ts';
import type { Block, SlackMessage, TextObject } from './drill-result.ts';
import { clip, code, escape, listed, MAX_BLOCKS, MAX_FIELD, MAX_HEADER, MAX_TEXT, mrkdwn } from './kit.ts';

/**
 * The posture digest: every protected service with its strategy, its RPO and RTO objectives
 * against what its last drill measured, its last backup and drill, and what is wrong, the
 * services that need attention first. The same judgement as `golive posture`.
 */

/** What the digest is built from: `golive posture`'s report, or the part of it the worker reads. */
export interface PostureDigestReport {
  at: string;
  services: readonly ServicePosture[];
}

const ORDER: Record<ServicePosture['status'], number> = { 'at-risk': 0, stale: 1, ok: 2 };
const LABEL: Record<ServicePosture['status'], string> = { 'at-risk': 'AT RISK', stale: 'STALE', ok: 'ok' };
/** Header, summary, divider, and a last section for the services that did not fit. */
const SERVICES_SHOWN = MAX_BLOCKS - 4;
const PROBLEMS_SHOWN = 5;

const field = (text: string): TextObject => ({ type: 'mrkdwn', text: clip(text, MAX_FIELD) });
const needsAttention = (service: ServicePosture) => service.status !== 'ok';

/** At risk first, then stale, then ok; by name within each. */
function ordered(services: readonly ServicePosture[]): ServicePosture[] {
  return [...services].sort((a, b) => ORDER[a.status] - ORDER[b.status] || a.service.localeCompare(b.service));
}

/** "objective 1m; last drill 12.3s, met", or "not measured yet". */
function objective(label: string, written: string | undefined, objectiveMs: number | undefined, measuredMs: number | undefined): string {
  if (written === undefined || objectiveMs === undefined) return `*${label}*\nno objective known`;
  if (measuredMs === undefined) return `*${label}*\nobjective ${escape(written)}; not measured yet`;
  return `*${label}*\nobjective ${escape(written)}; last drill ${formatMeasured(measuredMs)}, ${measuredMs <= objectiveMs ? 'met' : 'MISSED'}`;
}

function lastBackup(service: ServicePosture): string {
  const backup = service.lastBackup;
  if (!backup) return '*Last backup*\nnone recorded';
  const verdict = backup.withinRpo === null ? '' : backup.withinRpo ? ', within RPO' : ', older than the RPO';
  return `*Last backup*\n${formatAge(backup.ageMs)} ago${verdict}`;
}

function lastDrill(service: ServicePosture, now: Date): string {
  const drill = service.lastDrill;
  if (!drill) return '*Last drill*\nnever';
  const age = formatAge(Math.max(0, now.getTime() - Date.parse(drill.finishedAt)));
  const window = service.stale ? `; none passed in ${escape(service.drillWindow)}` : '';
  return `*Last drill*\n${drill.status === 'passed' ? 'passed' : 'FAILED'} ${age} ago${window}`;
}

function serviceBlock(service: ServicePosture, now: Date): Block {
  const strategy = service.strategy === null ? 'strategy unknown' : escape(service.strategy);
  const runbook = service.runbook === null ? '' : `, runbook ${code(service.runbook)}`;
  const heading = `*${escape(service.service)}*: ${LABEL[service.status]} (${strategy}${runbook})`;
  const problems = service.problems.length === 0
    ? ''
    : `\n${listed(service.problems.map((problem) => `- ${escape(problem)}`), 'problems', PROBLEMS_SHOWN, MAX_TEXT - heading.length - 1)}`;
  return {
    type: 'section',
    text: mrkdwn(`${heading}${problems}`),
    fields: [
      field(objective('RPO (data loss)', service.objectives?.rpo, service.objectives?.rpoMs, service.lastDrill?.rpoMs)),
      field(objective('RTO (recovery time)', service.objectives?.rto, service.objectives?.rtoMs, service.lastDrill?.rtoMs)),
      field(lastBackup(service)),
      field(lastDrill(service, now)),
    ],
  };
}

function headline(services: readonly ServicePosture[]): string {
  if (services.length === 0) return 'DR posture: no protected services';
  const attention = services.filter(needsAttention).length;
  const noun = services.length === 1 ? 'service' : 'services';
  if (attention === 0) return `DR posture: all ${services.length} ${noun} ok`;
  return `DR posture: ${attention} of ${services.length} ${noun} ${attention === 1 ? 'needs' : 'need'} attention`;
}

/** "1 at risk, 2 stale, 3 ok". */
function counts(services: readonly ServicePosture[]): string {
  const count = (status: ServicePosture['status']) => services.filter((service) => service.status === status).length;
  return [[count('at-risk'), 'at risk'], [count('stale'), 'stale'], [count('ok'), 'ok']].filter(([n]) => n !== 0).map(([n, label]) => `${n} ${label}`).join(', ');
}

/** "2026-03-10 12:00 UTC". */
const minute = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;

/** The notification text, and what clients without blocks show: the headline and the services needing attention. */
export function postureDigestText(report: PostureDigestReport): string {
  const attention = ordered(report.services).filter(needsAttention).map((service) => `${escape(service.service)} (${LABEL[service.status].toLowerCase()})`);
  return clip(`${headline(report.services)}${attention.length > 0 ? `: ${attention.join(', ')}` : ''}.`, MAX_TEXT);
}

/** The digest message: one section per service, those needing attention first, within Slack's 50 blocks. */
export function postureDigestMessage(report: PostureDigestReport): SlackMessage {
  const now = new Date(report.at);
  const services = ordered(report.services);
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(headline(services), MAX_HEADER) } },
    { type: 'context', elements: [mrkdwn(`As of ${minute(now.toISOString())}${services.length > 0 ? `: ${counts(services)}` : ''}. \`golive posture\` shows the same.`)] },
    { type: 'divider' },
  ];
  if (services.length === 0) {
    blocks.push({ type: 'section', text: mrkdwn("No runbook in the worker's runbooks folder (GOLIVE_RUNBOOKS_DIR) declares spec.backup or spec.drill, and no backups or drills are recorded.") });
    return { text: postureDigestText(report), blocks };
  }
  const fits = services.length <= SERVICES_SHOWN + 1 ? services.length : SERVICES_SHOWN;
  blocks.push(...services.slice(0, fits).map((service) => serviceBlock(service, now)));
  const rest = services.slice(fits);
  if (rest.length > 0) {
    const attention = rest.filter(needsAttention).length;
    const names = clip(rest.map((service) => `${escape(service.service)} (${LABEL[service.status].toLowerCase()})`).join(', '), MAX_TEXT - 200);
    const more = `_and ${rest.length} more services${attention > 0 ? `, ${attention} of them needing attention` : ''}_`;
    blocks.push({ type: 'section', text: mrkdwn(`${more}: ${names}\n\`golive posture\` lists them all.`) });
  }
  return { text: postureDigestText(report), blocks };
}
