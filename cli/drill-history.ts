import { Command, Option } from 'commander';
import { formatMeasured } from '../definitions/duration.ts';
import { listDrills } from '../runtime/posture.ts';
import { createPgProtectionStore } from '../store/protection.ts';
import type { DrillRecord } from '../workflows/definitions.ts';
import { formatTable, print, wholeNumber, withStore } from './context.ts';
import { formatTime } from './format-run.ts';
import { remoteApi } from './remote.ts';

const measured = (ms: number | undefined) => (ms === undefined ? '' : formatMeasured(ms));

export function formatDrills(drills: DrillRecord[]): string {
  if (drills.length === 0) return 'no drills recorded yet: start one with `golive drill run RUNBOOK`';
  return formatTable([
    ['RUN', 'SERVICE', 'STATUS', 'FINISHED', 'RPO', 'OBJ', 'RTO', 'OBJ', 'TRIGGER', 'REASON'],
    ...drills.map((drill) => [
      drill.runId,
      drill.service,
      drill.status,
      formatTime(drill.finishedAt),
      measured(drill.measured.rpoMs),
      drill.objectives.rpo,
      measured(drill.measured.rtoMs),
      drill.objectives.rto,
      drill.trigger,
      drill.reason ?? '',
    ]),
  ]);
}

/** `golive drill history`: recorded drills newest first, with measured and objective RPO/RTO. The lead mounts it under `golive drill`. */
export function drillHistoryCommand(): Command {
  return new Command('history')
    .description('recorded restore-verification drills, newest first, with measured RPO/RTO against the objectives')
    .option('--service <service>', 'only drills of this service')
    .option('--limit <n>', 'at most this many', wholeNumber, 20)
    .addOption(new Option('--json', 'print JSON'))
    .action(async (options: { service?: string; limit: number; json?: boolean }) => {
      const filter = { service: options.service, limit: options.limit };
      const api = remoteApi();
      const drills = api ? await api.drills(filter) : await withStore(({ pool }) => listDrills(createPgProtectionStore(pool), filter));
      print({ drills }, options.json, (answer) => formatDrills(answer.drills));
    });
}
