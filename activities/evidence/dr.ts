import { formatAge } from '../../definitions/duration.ts';
import { businessFailure, rethrow } from '../../definitions/failures.ts';
import type { ServicePosture } from '../../definitions/posture.ts';
import type { ActionCall } from '../call.ts';
import type { ActionDeps } from '../types.ts';

/**
 * golive.dr-evidence: "a restore was tested" decided from golive's own records instead of a
 * person's memory. The verdict is `golive posture`'s, so the gate and the posture page never
 * disagree: ok only when the service's posture is ok, which takes a runbook declaring the service,
 * a newest backup younger than the RPO, a newest restore drill that did not fail, and a drill
 * passed within the drill window (spec.drill.window, default 30d). The reason restates each
 * unmet condition with its numbers, for the person who has to fix it.
 */

const NO_RUNBOOK = /^no runbook declares spec\.backup or spec\.drill for /;

const noRunbook = (service: string) => `golive has no runbook declaring service ${service} (add spec.backup/spec.drill)`;

function unmet(posture: ServicePosture, now: Date): string[] {
  const reasons: string[] = [];
  if (posture.problems.some((problem) => NO_RUNBOOK.test(problem))) reasons.push(noRunbook(posture.service));
  const backup = posture.lastBackup;
  if (backup === null) reasons.push(`no backup of ${posture.service} is recorded (backup.create records each backup it takes)`);
  else if (backup.withinRpo === false && posture.objectives) {
    reasons.push(`the newest backup (${backup.backupId}) is ${formatAge(backup.ageMs)} old, older than the RPO ${posture.objectives.rpo}`);
  }
  const drill = posture.lastDrill;
  if (drill?.status === 'failed') reasons.push(`the last restore drill (${drill.runId}) failed: ${drill.reason ?? 'no reason was recorded'}`);
  if (posture.stale) {
    const passedAt = posture.lastPassedDrillAt;
    const last = passedAt === null ? 'never passed' : `last passed ${formatAge(now.getTime() - Date.parse(passedAt))} ago`;
    reasons.push(`no restore drill passed within ${posture.drillWindow} (${last})`);
  }
  return reasons;
}

function passedDrill(finishedAt: string, now: Date) {
  const ageMs = now.getTime() - Date.parse(finishedAt);
  return { finishedAt, ageMs, age: formatAge(ageMs) };
}

function evidence(posture: ServicePosture, now: Date) {
  const reasons = unmet(posture, now);
  // A status posture judges not ok for a cause not restated above still fails, in posture's words.
  if (posture.status !== 'ok' && reasons.length === 0) reasons.push(...posture.problems);
  const { lastBackup: backup, lastDrill: drill, lastPassedDrillAt } = posture;
  return {
    ok: posture.status === 'ok',
    ...(posture.status === 'ok' ? {} : { reason: reasons.join('; ') }),
    service: posture.service,
    status: posture.status,
    runbook: posture.runbook,
    objectives: posture.objectives ? { rpo: posture.objectives.rpo, rto: posture.objectives.rto } : null,
    backup: backup && {
      backupId: backup.backupId,
      snapshotAt: backup.snapshotAt,
      ageMs: backup.ageMs,
      age: formatAge(backup.ageMs),
      withinRpo: backup.withinRpo,
    },
    lastDrill: drill && { runId: drill.runId, status: drill.status, finishedAt: drill.finishedAt, reason: drill.reason ?? null },
    lastPassedDrill: lastPassedDrillAt === null ? null : passedDrill(lastPassedDrillAt, now),
    drillWindow: posture.drillWindow,
    stale: posture.stale,
    problems: posture.problems,
    at: now.toISOString(),
  };
}

/** golive.dr-evidence: the service's backup and drill record, judged by posture's rules. */
export async function drEvidence(deps: Pick<ActionDeps, 'posture'>, call: ActionCall<'golive.dr-evidence'>) {
  const { service } = call.input;
  const context = `golive.dr-evidence ${service}`;
  if (!deps.posture) {
    throw businessFailure(
      `${context}: this worker has no records of backups and drills to read; run the checklist on a golive worker (golive worker) connected to golive's database`,
      'EvidenceMissing',
    );
  }
  const now = new Date();
  let services: ServicePosture[];
  try {
    services = await deps.posture(now);
  } catch (error) {
    rethrow(error, `${context}: cannot read golive's backup and drill records`, 'EvidenceMissing');
  }
  const posture = services.find((entry) => entry.service === service);
  if (posture) return evidence(posture, now);
  return {
    ok: false,
    reason: `${noRunbook(service)}; no backup or drill of ${service} is recorded either`,
    service,
    status: null,
    runbook: null,
    objectives: null,
    backup: null,
    lastDrill: null,
    lastPassedDrill: null,
    drillWindow: null,
    stale: true,
    problems: [],
    at: now.toISOString(),
  };
}
