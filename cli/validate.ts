import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { findDefinitionFiles, formatProblem, loadDefinition, type Problem } from '../definitions/load.ts';
import { compareProblems, countErrors } from '../definitions/problems.ts';

/** Searched when no path is given; those that do not exist here are skipped. */
export const DEFAULT_PATHS = ['checklists', 'runbooks', 'rollouts'] as const;

export interface FileReport {
  file: string;
  valid: boolean;
  kind?: string;
  name?: string;
}

export interface ValidationReport {
  files: FileReport[];
  problems: Problem[];
}

/** Validates every definition file under `paths`: the work behind `golive validate`. */
export async function validatePaths(paths: readonly string[]): Promise<ValidationReport> {
  const found = await findDefinitionFiles(paths);
  const files: FileReport[] = [];
  const problems: Problem[] = [...found.problems];
  for (const file of found.files) {
    const result = await loadDefinition(file);
    if (result.ok) {
      files.push({ file, valid: true, kind: result.kind, name: result.definition.metadata.name });
      problems.push(...result.warnings);
    } else {
      files.push({ file, valid: false });
      problems.push(...result.problems);
    }
  }
  return { files, problems: problems.sort(compareProblems) };
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

export function summaryLine(report: ValidationReport): string {
  const errors = countErrors(report.problems);
  const warnings = report.problems.length - errors;
  return `${plural(report.files.length, 'file')}, ${plural(errors, 'error')}, ${plural(warnings, 'warning')}`;
}

function defaultPaths(): string[] {
  const present = DEFAULT_PATHS.filter((path) => existsSync(path));
  return present.length > 0 ? present : [...DEFAULT_PATHS];
}

export function validateCommand(): Command {
  return new Command('validate')
    .description('check checklists, runbooks and rollout plans; print each problem as FILE:LINE:COL: field.path: message')
    .argument('[paths...]', `definition files or folders (default: ${DEFAULT_PATHS.join(' ')})`)
    .option('--json', 'print {files, problems} as JSON')
    .action(async (paths: string[], options: { json?: boolean }) => {
      const report = await validatePaths(paths.length > 0 ? paths : defaultPaths());
      if (options.json) {
        console.log(JSON.stringify(report, null, 2));
      } else {
        for (const problem of report.problems) console.log(formatProblem(problem));
        console.log(summaryLine(report));
      }
      if (countErrors(report.problems) > 0) process.exitCode = 1;
    });
}
