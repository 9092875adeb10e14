import { Command, Option } from 'commander';
import { formatAge, formatDuration, formatMeasured } from '../definitions/duration.ts';
import type { ServicePosture } from '../definitions/posture.ts';
import { readPosture, type PostureReport } from '../runtime/posture.ts';
import { createPgProtectionStore } from '../store/protection.ts';
import { UserError } from '../runtime/errors.ts';
import { formatTable, print, withStore } from './context.ts';
import { digestCommand } from './posture-digest.ts';
import { remoteApi } from './remote.ts';

const measured = (label: string, ms: number | undefined) => (ms === undefined ? '' : `${label} ${formatMeasured(ms)}`);

function drillCell(service: ServicePosture): string {
  const drill = service.lastDrill;
  if (!drill) return 'never';
  const numbers = [measured('RPO', drill.rpoMs), measured('RTO', drill.rtoMs)].filter(Boolean).join(', ');
  return numbers ? `${drill.status} (${numbers})` : drill.status;
}

/** `succeeded in staging (RTO 4.2s of 30m: met)`: the newest failover drill against its objective. */
function failoverDrillCell(service: ServicePosture): string {
  const drill = service.lastFailoverDrill;
  if (!drill) return 'never';
  const rto = drill.rtoMs === undefined
    ? 'RTO not measured'
    : `RTO ${formatMeasured(drill.rtoMs)} of ${formatDuration(drill.objectiveRtoMs)}: ${drill.verdict === 'missed' ? 'MISSED' : drill.verdict}`;
  return `${drill.status} in ${drill.environment} (${rto})`;
}

export function formatPosture(report: PostureReport): string {
  if (report.services.length === 0) {
    return `no protected services: no runbook in ${report.runbooksDir} has spec.backup or spec.drill, and no backups or drills are recorded`;
  }
  const table = formatTable([
    ['SERVICE', 'STRATEGY', 'RPO', 'RTO', 'LAST BACKUP', 'LAST DRILL', 'STATUS', 'LAST FAILOVER DRILL'],
    ...report.services.map((service) => [
      service.service,
      service.strategy ?? '?',
      service.objectives?.rpo ?? '?',
      service.objectives?.rto ?? '?',
      service.lastBackup ? `${formatAge(service.lastBackup.ageMs)} ago` : 'none',
      drillCell(service),
      service.status,
      // After the status: the failover drill is shown, and its problems listed, but it does not decide the status.
      failoverDrillCell(service),
    ]),
  ]);
  const problems = report.services
    .filter((service) => service.problems.length > 0)
    .map((service) => [`${service.service} (${service.status}):`, ...service.problems.map((problem) => `  - ${problem}`)].join('\n'));
  const unreadable = report.unreadable.length > 0 ? [`skipped ${report.unreadable.length} unusable file(s) in ${report.runbooksDir}:`, ...report.unreadable.map((line) => `  ${line}`)].join('\n') : '';
  return [table, ...problems, unreadable].filter(Boolean).join('\n\n');
}

/** `golive posture`: for each protected service, its objectives, last backup, last drill, last failover drill and status; `golive posture digest` posts it to Slack. */
export function postureCommand(): Command {
  return new Command('posture')
    .description('how well each protected service meets its RPO/RTO: last backup age, last drill measurements, staleness, last failover drill')
    .option('--dir <dir>', 'folder with the runbooks (default: GOLIVE_RUNBOOKS_DIR, else runbooks)')
    .option('--check', 'exit 1 when any service is at risk or stale (for cron jobs and CI gates)')
    .addOption(new Option('--json', 'print JSON'))
    .addCommand(digestCommand())
    .action(async (options: { dir?: string; json?: boolean; check?: boolean }) => {
      const api = remoteApi();
      if (api && options.dir) throw new UserError("--dir does not apply with GOLIVE_URL: the server judges posture by its own runbooks folder; unset GOLIVE_URL to read a local folder");
      const report = api
        ? await api.posture()
        : await withStore(({ config, pool }) => readPosture(createPgProtectionStore(pool), options.dir ?? config.runbooksDir));
      print(report, options.json, formatPosture);
      if (options.check && report.services.some((service) => service.status !== 'ok')) process.exitCode = 1;
    });
}
