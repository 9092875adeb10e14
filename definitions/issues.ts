import type { z } from 'zod';
import type { PathSegment } from './problems.ts';

type Issue = z.core.$ZodIssue;

/** One zod issue, reduced to what a problem needs: where, whether the key is written, and what. */
export interface IssueReport {
  path: PathSegment[];
  /** Point at the last key itself rather than its value (unknown or badly named keys). */
  atKey: boolean;
  message: string;
}

const EXPECTED: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  tuple: 'a list',
  object: 'a mapping (key: value)',
  record: 'a mapping (key: value)',
  map: 'a mapping (key: value)',
  null: 'null',
};

/** Zod's own messages start like these; the schemas' messages are written for people already. */
const ZOD_DEFAULT = /^(Invalid|Too (small|big)|Unrecognized)/;

function toSegments(path: readonly PropertyKey[]): PathSegment[] {
  return path.map((segment) => (typeof segment === 'number' ? segment : String(segment)));
}

/** Describes a value found in the file, for "must be X, got Y". */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let current = data;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PathSegment, unknown>)[segment];
  }
  return current;
}

function quoteList(values: readonly unknown[]): string {
  return values.map((value) => (typeof value === 'string' ? value : JSON.stringify(value))).join(', ');
}

function sizeMessage(issue: Extract<Issue, { code: 'too_small' | 'too_big' }>): string {
  const small = issue.code === 'too_small';
  const bound = Number(small ? issue.minimum : issue.maximum);
  const exclusive = issue.inclusive === false;
  if (issue.origin === 'array') {
    const count = exclusive ? bound + (small ? 1 : -1) : bound;
    return `${small ? 'needs at least' : 'takes at most'} ${count} item${count === 1 ? '' : 's'}`;
  }
  if (issue.origin === 'string') {
    return small && bound <= 1 ? 'must not be empty' : `must be ${small ? 'at least' : 'at most'} ${bound} characters`;
  }
  const relation = small ? (exclusive ? 'more than' : 'at least') : exclusive ? 'less than' : 'at most';
  return `must be ${relation} ${bound}`;
}

/** A readable message for an issue whose message is still zod's own. */
function rewrite(issue: Issue, value: unknown): string {
  if (!ZOD_DEFAULT.test(issue.message)) return issue.message;
  const actual = describeValue(value);
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${EXPECTED[issue.expected] ?? issue.expected}, got ${actual}`;
    case 'invalid_value':
      return issue.values.length === 1 ? `must be ${quoteList(issue.values)}` : `must be one of ${quoteList(issue.values)}`;
    case 'invalid_union':
      return 'options' in issue && issue.options ? `must be one of ${quoteList(issue.options)}` : `${actual} is not allowed here`;
    case 'too_small':
    case 'too_big':
      return sizeMessage(issue);
    case 'invalid_format':
      return issue.pattern ? `must match ${issue.pattern}` : `must be a valid ${issue.format}`;
    default:
      return issue.message;
  }
}

/** The branch of a failed union that came closest: the one whose type matched. */
function closestBranch(branches: readonly Issue[][]): Issue[] {
  const typeMisses = (branch: Issue[]) => branch.filter((issue) => issue.code === 'invalid_type' && issue.path.length === 0).length;
  return [...branches].sort((left, right) => typeMisses(left) - typeMisses(right))[0] ?? [];
}

/** Turns zod issues into reports with paths into the file and messages a person can act on. */
export function reportIssues(issues: readonly Issue[], data: unknown, prefix: PathSegment[] = []): IssueReport[] {
  return issues.flatMap((issue): IssueReport[] => {
    const path = [...prefix, ...toSegments(issue.path)];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: [...path, key], atKey: true, message: `unknown field "${key}"` }));
    }
    if (issue.code === 'invalid_key') {
      const key = String(path.at(-1));
      const detail = issue.issues.map((inner) => rewrite(inner, key)).join('; ');
      return [{ path, atKey: true, message: `key "${key}" ${detail}` }];
    }
    if (issue.code === 'invalid_union' && !issue.discriminator && issue.errors.length > 0) {
      const nested = reportIssues(closestBranch(issue.errors), data, path);
      if (nested.length > 0) return nested;
    }
    return [{ path, atKey: false, message: rewrite(issue, valueAt(data, path)) }];
  });
}

/** The message for a required key that is not written in the file. */
export function missingMessage(message: string): string {
  if (message.endsWith('got nothing')) return 'is required';
  return message.startsWith('must ') ? `is required (${message})` : message;
}
