import { findDefinitionFiles, formatProblem, loadDefinition, type ParsedDefinition } from '../definitions/load.ts';
import { NotFoundError, UserError } from './errors.ts';
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

type Logger = { warn(fields: object, message: string): void };
type DefinitionOf<K extends ParsedDefinition['kind']> = Extract<ParsedDefinition, { kind: K }>['definition'];
const WHAT = { Runbook: 'runbook', Checklist: 'checklist', RolloutPlan: 'rollout plan' } as const;

/**
 * The valid definitions of one kind in a folder, by metadata.name (a name can appear in more than
 * one file). A file that is not a valid definition is skipped with a log line naming its first
 * problem; definitions of other kinds are passed over.
 */
export async function definitionsByName<K extends ParsedDefinition['kind']>(folder: string, kind: K, logger: Logger): Promise<Map<string, Array<{ definition: DefinitionOf<K>; file: string }>>> {
  const found = await findDefinitionFiles([folder]);
  for (const problem of found.problems) logger.warn({ folder, problem: formatProblem(problem) }, `cannot read the ${WHAT[kind]}s folder`);
  const byName = new Map<string, Array<{ definition: DefinitionOf<K>; file: string }>>();
  for (const file of found.files) {
    const result = await loadDefinition(file);
    if (!result.ok) {
      const first = result.problems.find((problem) => problem.severity === 'error');
      logger.warn({ file, problem: first && formatProblem(first) }, `skipped an invalid ${WHAT[kind]} file; check it with \`golive validate\``);
      continue;
    }
    if (result.kind !== kind) continue;
    const definition = result.definition as DefinitionOf<K>;
    byName.set(definition.metadata.name, [...(byName.get(definition.metadata.name) ?? []), { definition, file }]);
  }
  return byName;
}

/**
 * The one definition of that kind and metadata.name in a folder: 404 naming the known ones, or a
 * refusal when two files define it. `where` names the folder in messages (the API says "the
 * server's … folder" rather than show a server path).
 */
export async function findDefinition<K extends ParsedDefinition['kind']>(folder: string, kind: K, name: string, logger: Logger, where = folder): Promise<{ definition: DefinitionOf<K>; file: string }> {
  const byName = await definitionsByName(folder, kind, logger);
  const [entry, ...others] = byName.get(name) ?? [];
  if (!entry) {
    const known = [...byName.keys()].sort().join(', ') || 'none';
    throw new NotFoundError(`no ${WHAT[kind]} named ${name} in ${where} (known: ${known})`);
  }
  if (others.length > 0) {
    throw new UserError(`${WHAT[kind]} ${name} is defined in ${others.length + 1} files in ${where} (${[entry, ...others].map((match) => match.file).join(', ')}); keep one`);
  }
  return entry;
}

/** Every runbook in the server's folder; checklists and rollout plans are not runbooks. */
export async function readRunbookCatalog(folder: string, logger: Logger): Promise<RunbookCatalog> {
  const found = await definitionsByName(folder, 'Runbook', logger);
  const byName = new Map([...found].map(([name, entries]) => [name, entries.map(({ definition, file }) => ({ runbook: definition, file }))]));
  return { byName, names: [...byName.keys()].sort() };
}
