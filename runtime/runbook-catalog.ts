import { findDefinitionFiles, formatProblem, loadDefinition } from '../definitions/load.ts';
import type { Runbook } from '../definitions/schema.ts';

export interface CatalogEntry {
  runbook: Runbook;
  file: string;
}

/** The valid runbooks in a folder by metadata.name; a name can appear in more than one file. */
export interface RunbookCatalog {
  byName: Map<string, CatalogEntry[]>;
  names: string[];
}

/**
 * Reads every runbook in the server's folder. A file that is not a valid definition is skipped
 * with a log line naming its first problem; checklists and rollout plans are not runbooks.
 */
export async function readRunbookCatalog(folder: string, logger: { warn(fields: object, message: string): void }): Promise<RunbookCatalog> {
  const found = await findDefinitionFiles([folder]);
  for (const problem of found.problems) logger.warn({ folder, problem: formatProblem(problem) }, 'cannot read the runbooks folder');
  const byName = new Map<string, CatalogEntry[]>();
  for (const file of found.files) {
    const result = await loadDefinition(file);
    if (!result.ok) {
      const first = result.problems.find((problem) => problem.severity === 'error');
      logger.warn({ file, problem: first && formatProblem(first) }, 'skipped an invalid runbook file; check it with `golive validate`');
      continue;
    }
    if (result.kind !== 'Runbook') continue;
    const name = result.definition.metadata.name;
    byName.set(name, [...(byName.get(name) ?? []), { runbook: result.definition, file }]);
  }
  return { byName, names: [...byName.keys()].sort() };
}
