import type { FailoverRecord, RunStatus } from '../workflows/definitions.ts';
import { formatMeasured } from './duration.ts';
import type { Runbook } from './schema.ts';

/** What posture says of a service's failover drills: the newest one, and what a person should do about it. */

/** A service's newest failover drill, with its RTO against the objective of the runbook it drilled. */
export interface FailoverDrillPosture {
  runId: string;
  /** T_d: when the drill was declared. */
  at: string;
  status: RunStatus;
  environment: string;
  /** Measured RTO: T_d to the first passing health check through the switched path. */
  rtoMs?: number;
  objectiveRtoMs: number;
  verdict: FailoverRecord['verdict']['rto'];
  /** The data the drill's failover put at risk, measured before promotion, in seconds. */
  exposureSeconds?: number;
}

export interface FailoverDrillInput {
  runbooks: readonly Runbook[];
  lastFailoverDrills: readonly FailoverRecord[];
  runbookFiles?: ReadonlyMap<string, string>;
}

function problemsOf(drill: FailoverRecord, shown: FailoverDrillPosture): string[] {
  const which = `last failover drill ${drill.runId} (environment ${shown.environment})`;
  const problems: string[] = [];
  if (drill.status === 'failed' || drill.status === 'aborted') problems.push(`${which} ${drill.status}${drill.outcome ? `: ${drill.outcome}` : ''}`);
  if (shown.verdict === 'missed' && shown.rtoMs !== undefined) problems.push(`${which} missed its RTO: measured ${formatMeasured(shown.rtoMs)} exceeds objective ${drill.objectives.rto}`);
  return problems;
}

/** The service's newest failover drill and its problems; a service whose runbooks can be drilled and never were is told how. */
export function failoverDrillPosture(service: string, input: FailoverDrillInput): { lastFailoverDrill: FailoverDrillPosture | null; problems: string[] } {
  const drill = input.lastFailoverDrills.find((record) => record.service === service);
  if (!drill) {
    const drillable = input.runbooks
      .filter((runbook) => runbook.metadata.service === service && Object.keys(runbook.spec.environments).length > 0)
      .sort((left, right) => left.metadata.name.localeCompare(right.metadata.name))[0];
    if (!drillable) return { lastFailoverDrill: null, problems: [] };
    const runbook = input.runbookFiles?.get(drillable.metadata.name) ?? drillable.metadata.name;
    const environment = Object.keys(drillable.spec.environments)[0] ?? 'ENV';
    return { lastFailoverDrill: null, problems: [`no failover drill yet: golive failover drill ${runbook} --environment ${environment}`] };
  }
  const exposure = drill.measured.exposure?.seconds;
  const shown: FailoverDrillPosture = {
    runId: drill.runId,
    at: drill.declaredAt,
    status: drill.status,
    environment: drill.environment ?? 'unknown',
    ...(drill.measured.rtoMs === undefined ? {} : { rtoMs: drill.measured.rtoMs }),
    objectiveRtoMs: drill.objectives.rtoMs,
    verdict: drill.verdict.rto,
    ...(exposure === undefined || exposure === null ? {} : { exposureSeconds: exposure }),
  };
  return { lastFailoverDrill: shown, problems: problemsOf(drill, shown) };
}
