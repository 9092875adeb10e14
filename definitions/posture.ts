import type { DrillRecord, FailoverRecord } from '../workflows/definitions.ts';
import type { BackupEntry } from './backup-manifest.ts';
import { durationMs, formatAge } from './duration.ts';
import { failoverDrillPosture, type FailoverDrillPosture } from './failover-posture.ts';
import type { Runbook } from './schema.ts';

/** How well one service is protected right now, judged from its runbook and golive's records. */
export interface ServicePosture {
  service: string;
  /** The runbook whose objectives posture judges by; from the newest drill when no runbook file declares the service. */
  runbook: string | null;
  strategy: string | null;
  objectives: { rpo: string; rto: string; rpoMs: number; rtoMs: number } | null;
  lastBackup: {
    backupId: string;
    location: string;
    snapshotAt: string;
    finishedAt: string;
    /** now − snapshotAt: what a disaster now would lose when recovering from this backup. */
    ageMs: number;
    /** null when no objectives are known for the service. */
    withinRpo: boolean | null;
  } | null;
  lastDrill: {
    runId: string;
    status: 'passed' | 'failed';
    finishedAt: string;
    rpoMs?: number;
    rtoMs?: number;
    reason?: string;
  } | null;
  lastPassedDrillAt: string | null;
  /** How recently a drill must have passed (the runbook's spec.drill.window, default 30d). */
  drillWindow: string;
  /** The newest failover drill of the service, by T_d, with its RTO against its runbook's objective. */
  lastFailoverDrill: FailoverDrillPosture | null;
  /** No drill passed within the drill window (spec.drill.window, default 30d). */
  stale: boolean;
  /** Everything wrong, in words a person acts on. */
  problems: string[];
  /** at-risk: the objectives are not met or not known now; stale: nothing proves them lately; else ok. */
  status: 'ok' | 'at-risk' | 'stale';
}

export interface PostureInput {
  runbooks: readonly Runbook[];
  lastBackups: readonly BackupEntry[];
  lastDrills: readonly { service: string; latest: DrillRecord; lastPassed?: DrillRecord }[];
  /** Each service's newest failover drill. */
  lastFailoverDrills: readonly FailoverRecord[];
  /** Runbook name → the file it was read from, for the commands problems suggest. */
  runbookFiles?: ReadonlyMap<string, string>;
  now: Date;
}

const DEFAULT_WINDOW = '30d';

const isProtected = (runbook: Runbook) => runbook.spec.backup !== undefined || runbook.spec.drill !== undefined;

/** A service's runbook for posture: one with a drill first, then the tightest RPO, then by name. */
function pickRunbook(candidates: readonly Runbook[]): Runbook | undefined {
  return [...candidates].sort((a, b) =>
    Number(b.spec.drill !== undefined) - Number(a.spec.drill !== undefined)
    || durationMs(a.spec.objectives.rpo) - durationMs(b.spec.objectives.rpo)
    || a.metadata.name.localeCompare(b.metadata.name),
  )[0];
}

const since = (now: Date, at: string) => now.getTime() - Date.parse(at);

function servicePosture(service: string, input: PostureInput, runbooks: readonly Runbook[]): ServicePosture {
  const runbook = pickRunbook(runbooks);
  const backup = input.lastBackups.find((entry) => entry.manifest.service === service);
  const drills = input.lastDrills.find((entry) => entry.service === service);
  const problems: string[] = [];
  let atRisk = false;
  const risk = (problem: string) => {
    problems.push(problem);
    atRisk = true;
  };

  const objectives = runbook
    ? { ...runbook.spec.objectives, rpoMs: durationMs(runbook.spec.objectives.rpo), rtoMs: durationMs(runbook.spec.objectives.rto) }
    : drills?.latest.objectives ?? null;
  if (!runbook) {
    risk(drills
      ? `no runbook declares spec.backup or spec.drill for ${service}; judged by the objectives of drill ${drills.latest.runId}`
      : `no runbook declares spec.backup or spec.drill for ${service}`);
  }

  let lastBackup: ServicePosture['lastBackup'] = null;
  if (backup) {
    const ageMs = since(input.now, backup.manifest.snapshotAt);
    const withinRpo = objectives ? ageMs <= objectives.rpoMs : null;
    lastBackup = { backupId: backup.manifest.backupId, location: backup.location, snapshotAt: backup.manifest.snapshotAt, finishedAt: backup.manifest.finishedAt, ageMs, withinRpo };
    if (withinRpo === false && objectives) risk(`last backup ${formatAge(ageMs)} old exceeds RPO ${objectives.rpo}`);
  } else {
    risk('no backup recorded');
  }

  const latest = drills?.latest;
  const lastDrill = latest
    ? { runId: latest.runId, status: latest.status, finishedAt: latest.finishedAt, rpoMs: latest.measured.rpoMs, rtoMs: latest.measured.rtoMs, reason: latest.reason }
    : null;
  if (latest?.status === 'failed') risk(`last drill ${latest.runId} failed: ${latest.reason ?? 'no reason recorded'}`);

  const window = runbook?.spec.drill?.window ?? DEFAULT_WINDOW;
  const lastPassedDrillAt = drills?.lastPassed?.finishedAt ?? null;
  const stale = lastPassedDrillAt === null || since(input.now, lastPassedDrillAt) > durationMs(window);
  if (runbook && !runbook.spec.drill) problems.push(`no drill proves the backups: add spec.drill to ${runbook.metadata.name}`);
  if (stale) {
    const last = lastPassedDrillAt === null ? 'never passed' : `last passed ${formatAge(since(input.now, lastPassedDrillAt))} ago`;
    problems.push(`no drill passed in ${window} (${last})`);
  }
  const failover = failoverDrillPosture(service, input);
  problems.push(...failover.problems);

  return {
    service,
    runbook: runbook?.metadata.name ?? latest?.runbook ?? null,
    strategy: runbook?.spec.strategy ?? latest?.strategy ?? null,
    objectives,
    lastBackup,
    lastDrill,
    lastPassedDrillAt,
    drillWindow: window,
    lastFailoverDrill: failover.lastFailoverDrill,
    stale,
    problems,
    status: atRisk ? 'at-risk' : stale ? 'stale' : 'ok',
  };
}

/**
 * Every protected service: those whose runbooks declare spec.backup or spec.drill, and those
 * seen only in backup or drill records. Sorted by service. A failover drill is shown with the
 * service it drilled, and says what went wrong, but does not change the service's status.
 */
export function computePosture(input: PostureInput): ServicePosture[] {
  const byService = new Map<string, Runbook[]>();
  for (const runbook of input.runbooks.filter(isProtected)) {
    byService.set(runbook.metadata.service, [...(byService.get(runbook.metadata.service) ?? []), runbook]);
  }
  const services = new Set([
    ...byService.keys(),
    ...input.lastBackups.map((entry) => entry.manifest.service),
    ...input.lastDrills.map((entry) => entry.service),
  ]);
  return [...services].sort().map((service) => servicePosture(service, input, byService.get(service) ?? []));
}
