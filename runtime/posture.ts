import { stat } from 'node:fs/promises';
import { findDefinitionFiles, formatProblem, loadDefinition } from '../definitions/load.ts';
import { computePosture, type ServicePosture } from '../definitions/posture.ts';
import type { Runbook } from '../definitions/schema.ts';
import type { DrillFilter, ProtectionStore } from '../store/protection.ts';
import type { DrillRecord } from '../workflows/definitions.ts';
import { UserError } from './errors.ts';

export interface PostureReport {
  at: string;
  runbooksDir: string;
  services: ServicePosture[];
  /** Files in the runbooks folder that could not be used, each with its first problem; posture ignores them. */
  unreadable: string[];
}

/** The valid runbooks under a folder, the file each came from (by runbook name), and a line for each file that could not be used. */
export async function loadRunbooks(folder: string): Promise<{ runbooks: Runbook[]; files: Map<string, string>; unreadable: string[] }> {
  const found = await findDefinitionFiles([folder]);
  const unreadable = found.problems.filter((problem) => problem.severity === 'error').map(formatProblem);
  const runbooks: Runbook[] = [];
  const files = new Map<string, string>();
  for (const file of found.files) {
    const result = await loadDefinition(file);
    if (result.ok && result.kind === 'Runbook') {
      runbooks.push(result.definition);
      files.set(result.definition.metadata.name, file);
    }
    if (!result.ok) {
      const errors = result.problems.filter((problem) => problem.severity === 'error');
      const first = errors[0];
      const more = errors.length > 1 ? ` (and ${errors.length - 1} more; see \`golive validate ${file}\`)` : '';
      if (first) unreadable.push(`${formatProblem(first)}${more}`);
    }
  }
  return { runbooks, files, unreadable };
}

/** Posture of every protected service: the runbooks in `runbooksDir` judged against golive's records of backups, drills and failover drills. */
export async function readPosture(store: ProtectionStore, runbooksDir: string, now = new Date()): Promise<PostureReport> {
  const folder = await stat(runbooksDir).then((found) => found.isDirectory(), () => false);
  if (!folder) throw new UserError(`runbooks folder ${runbooksDir}: no such folder; name the folder with your runbooks (--dir, or GOLIVE_RUNBOOKS_DIR)`);
  const [{ runbooks, files, unreadable }, lastBackups, lastDrills, lastFailoverDrills] = await Promise.all([
    loadRunbooks(runbooksDir), store.lastBackups(), store.lastDrills(), store.lastFailoverDrills(),
  ]);
  const services = computePosture({ runbooks, runbookFiles: files, lastBackups, lastDrills, lastFailoverDrills, now });
  return { at: now.toISOString(), runbooksDir, services, unreadable };
}

/** Recorded drills, newest first; a service no drill was ever recorded for is named as a mistake, not shown as an empty list. */
export async function listDrills(store: ProtectionStore, filter: DrillFilter): Promise<DrillRecord[]> {
  const drills = await store.listDrills(filter);
  if (drills.length === 0 && filter.service !== undefined) {
    const services = (await store.lastDrills()).map((entry) => entry.service);
    if (!services.includes(filter.service)) {
      throw new UserError(`service: golive has no drills of a service "${filter.service}"; ${services.length > 0 ? `services with drills: ${services.join(', ')}` : 'no drills recorded yet'}`);
    }
  }
  return drills;
}
