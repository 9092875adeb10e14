import { findDefinitionFiles, formatProblem, loadDefinition } from '../definitions/load.ts';
import { computePosture, type ServicePosture } from '../definitions/posture.ts';
import type { Runbook } from '../definitions/schema.ts';
import type { ProtectionStore } from '../store/protection.ts';

export interface PostureReport {
  at: string;
  runbooksDir: string;
  services: ServicePosture[];
  /** Files in the runbooks folder that could not be used, each with its first problem; posture ignores them. */
  unreadable: string[];
}

/** The valid runbooks under a folder, and a line for each file that could not be used. */
export async function loadRunbooks(folder: string): Promise<{ runbooks: Runbook[]; unreadable: string[] }> {
  const found = await findDefinitionFiles([folder]);
  const unreadable = found.problems.filter((problem) => problem.severity === 'error').map(formatProblem);
  const runbooks: Runbook[] = [];
  for (const file of found.files) {
    const result = await loadDefinition(file);
    if (result.ok && result.kind === 'Runbook') runbooks.push(result.definition);
    if (!result.ok) {
      const errors = result.problems.filter((problem) => problem.severity === 'error');
      const first = errors[0];
      const more = errors.length > 1 ? ` (and ${errors.length - 1} more; see \`golive validate ${file}\`)` : '';
      if (first) unreadable.push(`${formatProblem(first)}${more}`);
    }
  }
  return { runbooks, unreadable };
}

/** Posture of every protected service: the runbooks in `runbooksDir` judged against golive's records. */
export async function readPosture(store: ProtectionStore, runbooksDir: string, now = new Date()): Promise<PostureReport> {
  const [{ runbooks, unreadable }, lastBackups, lastDrills] = await Promise.all([loadRunbooks(runbooksDir), store.lastBackups(), store.lastDrills()]);
  return { at: now.toISOString(), runbooksDir, services: computePosture({ runbooks, lastBackups, lastDrills, now }), unreadable };
}
