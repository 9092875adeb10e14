/**
 * A problem found in a definition file, with the place a reader should look.
 * `line` and `col` count from 1; `line: 0` means the problem concerns the whole file
 * (it is missing, unreadable or empty).
 */
export interface Problem {
  file: string;
  line: number;
  col: number;
  /** Field path like `spec.steps[2].action`; empty when the problem has no field. */
  path: string;
  message: string;
  severity: 'error' | 'warning';
}

export type PathSegment = string | number;

/** `['spec', 'steps', 2, 'action']` → `spec.steps[2].action`. */
export function formatPath(segments: readonly PathSegment[]): string {
  return segments.reduce<string>((text, segment) => {
    if (typeof segment === 'number') return `${text}[${segment}]`;
    return text === '' ? segment : `${text}.${segment}`;
  }, '');
}

/** `FILE:LINE:COL: field.path: message`, with `warning: ` before the message of a warning. */
export function formatProblem(problem: Problem): string {
  const place = problem.line > 0 ? `${problem.file}:${problem.line}:${problem.col}` : problem.file;
  const field = problem.path === '' ? '' : `${problem.path}: `;
  const severity = problem.severity === 'warning' ? 'warning: ' : '';
  return `${place}: ${field}${severity}${problem.message}`;
}

/** A problem with the whole file (missing, unreadable, empty) rather than one place in it. */
export function fileProblem(file: string, message: string, severity: Problem['severity'] = 'error'): Problem {
  return { file, line: 0, col: 0, path: '', message, severity };
}

/** Orders problems by file, then position, so output reads top to bottom. */
export function compareProblems(left: Problem, right: Problem): number {
  if (left.file !== right.file) return left.file < right.file ? -1 : 1;
  return left.line - right.line || left.col - right.col;
}

export function countErrors(problems: readonly Problem[]): number {
  return problems.filter((problem) => problem.severity === 'error').length;
}

/** Thrown when a definition cannot be used; the message lists every problem, one per line. */
export class DefinitionError extends Error {
  readonly problems: readonly Problem[];

  constructor(problems: readonly Problem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'DefinitionError';
    this.problems = problems;
  }
}
