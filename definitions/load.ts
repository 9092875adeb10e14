import { readFile } from 'node:fs/promises';
import { isMap } from 'yaml';
import type { z } from 'zod';
import { describeValue, missingMessage, reportIssues } from './issues.ts';
import { compareProblems, countErrors, DefinitionError, fileProblem, formatPath, type PathSegment, type Problem } from './problems.ts';
import { API_VERSION, DEFINITION_SCHEMAS, type Checklist, type DefinitionKind, type RolloutPlan, type Runbook } from './schema.ts';
import { runWarningRules, type ParsedDefinition } from './warnings.ts';
import { locate, readYaml, yamlMessages, type YamlSource } from './yaml-source.ts';

export { DefinitionError, formatProblem, type Problem } from './problems.ts';
export { findDefinitionFiles } from './files.ts';
export { warningRules, type WarningRule, type ParsedDefinition, type Finding } from './warnings.ts';

export type ParseResult =
  | (ParsedDefinition & { ok: true; warnings: Problem[] })
  | { ok: false; problems: Problem[] };

const KINDS = Object.keys(DEFINITION_SCHEMAS) as DefinitionKind[];

function isKind(value: unknown): value is DefinitionKind {
  return typeof value === 'string' && (KINDS as string[]).includes(value);
}

interface ProblemSink {
  source: YamlSource;
  file: string;
  problems: Problem[];
}

function add(sink: ProblemSink, path: PathSegment[], message: string, options: { atKey?: boolean; severity?: Problem['severity'] } = {}): void {
  const place = locate(sink.source, path, { atKey: options.atKey });
  sink.problems.push({
    file: sink.file,
    line: place.line,
    col: place.col,
    path: formatPath(path),
    message: place.found ? message : missingMessage(message),
    severity: options.severity ?? 'error',
  });
}

function got(value: unknown): string {
  return value === undefined ? '' : `, got ${describeValue(value)}`;
}

/** The kind named in the file, or undefined after reporting why it cannot be used. */
function readKind(sink: ProblemSink, data: unknown): DefinitionKind | undefined {
  if (data === null || typeof data !== 'object' || Array.isArray(data) || !isMap(sink.source.document.contents)) {
    add(sink, [], `a definition is a mapping with apiVersion, kind, metadata and spec, got ${describeValue(data)}`);
    return undefined;
  }
  const header = data as Record<string, unknown>;
  if (header.apiVersion !== API_VERSION) add(sink, ['apiVersion'], `must be ${API_VERSION}${got(header.apiVersion)}`);
  if (isKind(header.kind)) return header.kind;
  add(sink, ['kind'], `must be one of ${KINDS.join(', ')}${got(header.kind)}`);
  return undefined;
}

/** Drops zod's report of the header fields: readKind has already said it better. */
function isHeaderIssue(issue: z.core.$ZodIssue): boolean {
  return issue.path.length === 1 && (issue.path[0] === 'apiVersion' || issue.path[0] === 'kind');
}

function schemaResult(kind: DefinitionKind, data: unknown): { parsed?: ParsedDefinition; issues: z.core.$ZodIssue[] } {
  switch (kind) {
    case 'Runbook': {
      const result = DEFINITION_SCHEMAS.Runbook.safeParse(data);
      return result.success ? { parsed: { kind, definition: result.data }, issues: [] } : { issues: result.error.issues };
    }
    case 'Checklist': {
      const result = DEFINITION_SCHEMAS.Checklist.safeParse(data);
      return result.success ? { parsed: { kind, definition: result.data }, issues: [] } : { issues: result.error.issues };
    }
    case 'RolloutPlan': {
      const result = DEFINITION_SCHEMAS.RolloutPlan.safeParse(data);
      return result.success ? { parsed: { kind, definition: result.data }, issues: [] } : { issues: result.error.issues };
    }
  }
}

function validate(sink: ProblemSink, kind: DefinitionKind, data: unknown): ParsedDefinition | undefined {
  const { parsed, issues } = schemaResult(kind, data);
  for (const report of reportIssues(issues.filter((issue) => !isHeaderIssue(issue)), data)) {
    add(sink, report.path, report.message, { atKey: report.atKey });
  }
  return parsed;
}

/**
 * Parses one definition file's text. Problems carry the position of the value at fault: a
 * missing key points at the mapping that should hold it, an unknown key at the key itself.
 */
export function parseDefinition(text: string, file: string): ParseResult {
  const sink: ProblemSink = { source: readYaml(text), file, problems: [] };
  for (const { path, ...rest } of yamlMessages(sink.source)) sink.problems.push({ file, path: formatPath(path), ...rest });
  if (countErrors(sink.problems) > 0) return { ok: false, problems: sink.problems.sort(compareProblems) };
  if (sink.source.document.contents === null) {
    return { ok: false, problems: [fileProblem(file, `file is empty: a definition starts with apiVersion: ${API_VERSION}`)] };
  }
  const data: unknown = sink.source.document.toJS();
  const kind = readKind(sink, data);
  const parsed = kind === undefined ? undefined : validate(sink, kind, data);
  if (!parsed || countErrors(sink.problems) > 0) return { ok: false, problems: sink.problems.sort(compareProblems) };
  for (const finding of runWarningRules(parsed)) add(sink, finding.path, finding.message, { severity: 'warning' });
  return { ...parsed, ok: true, warnings: sink.problems.sort(compareProblems) };
}

/** Reads and parses one definition file; an unreadable file is a problem, not a crash. */
export async function loadDefinition(file: string): Promise<ParseResult> {
  const read = await readText(file);
  return typeof read === 'string' ? parseDefinition(read, file) : { ok: false, problems: [read] };
}

async function readText(file: string): Promise<string | Problem> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const missing = error instanceof Error && 'code' in error && error.code === 'ENOENT';
    return fileProblem(file, missing ? 'no such file' : `cannot read: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** A valid definition of any kind and its text, or a DefinitionError listing every problem. */
async function loadValid(file: string): Promise<{ parsed: ParsedDefinition; text: string }> {
  const text = await readText(file);
  if (typeof text !== 'string') throw new DefinitionError([text]);
  const result = parseDefinition(text, file);
  if (!result.ok) throw new DefinitionError(result.problems);
  return { parsed: result, text };
}

function wrongKind(file: string, loaded: { parsed: ParsedDefinition; text: string }, wanted: DefinitionKind): DefinitionError {
  const place = locate(readYaml(loaded.text), ['kind']);
  const message = `is ${loaded.parsed.kind}; expected a ${wanted}`;
  return new DefinitionError([{ file, line: place.line, col: place.col, path: 'kind', message, severity: 'error' }]);
}

export async function loadRunbook(file: string): Promise<Runbook> {
  const loaded = await loadValid(file);
  if (loaded.parsed.kind === 'Runbook') return loaded.parsed.definition;
  throw wrongKind(file, loaded, 'Runbook');
}

export async function loadChecklist(file: string): Promise<Checklist> {
  const loaded = await loadValid(file);
  if (loaded.parsed.kind === 'Checklist') return loaded.parsed.definition;
  throw wrongKind(file, loaded, 'Checklist');
}

export async function loadRolloutPlan(file: string): Promise<RolloutPlan> {
  const loaded = await loadValid(file);
  if (loaded.parsed.kind === 'RolloutPlan') return loaded.parsed.definition;
  throw wrongKind(file, loaded, 'RolloutPlan');
}
