/**
 * Placeholders in a step's `with` values, filled in by the workflow just before the step runs:
 *   {{run.id}} {{run.requestedBy}} {{run.service}} {{step.id}} {{idempotencyKey}} {{steps.STEP.PATH}}
 * `steps.STEP.PATH` reads the result of an earlier step. Environment variables are not
 * placeholders: only targets name them, as ${NAME}, and only the worker resolves them.
 */
import { valueAt } from './assertions.ts';

const PLACEHOLDER = /\{\{\s*([\w.-]+)\s*\}\}/g;

export interface TemplateContext {
  run: { id: string; requestedBy: string; service: string };
  step: { id: string };
  idempotencyKey: string;
  steps: Record<string, unknown>;
}

/** Every placeholder name used in a value, for validation. */
export function placeholders(value: unknown): string[] {
  if (typeof value === 'string') return [...value.matchAll(PLACEHOLDER)].map((match) => match[1] ?? '');
  if (Array.isArray(value)) return value.flatMap(placeholders);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(placeholders);
  return [];
}

/** Why a placeholder name is not usable in a step, or undefined when it is. */
export function placeholderProblem(name: string, earlierSteps: ReadonlySet<string>): string | undefined {
  if (['run.id', 'run.requestedBy', 'run.service', 'step.id', 'idempotencyKey'].includes(name)) return undefined;
  const [head, stepId] = name.split('.');
  if (head !== 'steps' || !stepId) {
    return `unknown placeholder {{${name}}} (use run.id, run.requestedBy, run.service, step.id, idempotencyKey or steps.STEP.PATH)`;
  }
  return earlierSteps.has(stepId) ? undefined : `{{${name}}} names step "${stepId}", which does not run before this step`;
}

/**
 * Why `sql` may not be used as written, or undefined when it may. A placeholder's value (who
 * asked, an earlier step's result) would be pasted into SQL text; values go in as parameters.
 */
export function sqlPlaceholderProblem(sql: unknown, paramsField?: string): string | undefined {
  const found = placeholders(sql);
  if (found.length === 0) return undefined;
  const advice = paramsField ? `pass values as ${paramsField}: [...] and refer to them as $1` : 'this SQL runs as written: put the value itself in it';
  return `placeholders are not allowed in SQL (${found.map((name) => `{{${name}}}`).join(', ')}); ${advice}`;
}

function resolve(name: string, context: TemplateContext): unknown {
  return valueAt(context, name.split('.'));
}

/** Fills placeholders; a string that is exactly one placeholder keeps the value's type. */
export function render<T>(value: T, context: TemplateContext): T {
  if (typeof value === 'string') {
    const whole = /^\{\{\s*([\w.-]+)\s*\}\}$/.exec(value);
    if (whole) return (resolve(whole[1] ?? '', context) ?? null) as T;
    return value.replace(PLACEHOLDER, (_, name: string) => {
      const resolved = resolve(name, context);
      return typeof resolved === 'string' ? resolved : JSON.stringify(resolved ?? null);
    }) as T;
  }
  if (Array.isArray(value)) return value.map((item) => render(item, context)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, render(item, context)])) as T;
  }
  return value;
}
