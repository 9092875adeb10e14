import { ENV_REFERENCE, type Target } from '../definitions/targets.ts';
import { businessFailure } from './failures.ts';

export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * Replaces every `${VAR}` in `text` from `env`. A missing or empty variable fails the step
 * naming the target, the field and the variable; no resolved value ever appears in a message.
 */
export function resolveText(text: string, env: Environment, where: { target: string; field: string }): string {
  return text.replace(ENV_REFERENCE, (_reference, variable: string) => {
    const value = env[variable];
    if (value === undefined || value === '') {
      throw businessFailure(
        `target ${where.target}: environment variable ${variable} (used in ${where.field}) is not set on this worker`,
        'MissingEnvironment',
      );
    }
    return value;
  });
}

/** The target with every string field resolved. Call it on the worker, never in a workflow. */
export function resolveTarget<T extends Target>(name: string, spec: T, env: Environment): T {
  const resolved: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(spec)) {
    resolved[field] = typeof value === 'string' ? resolveText(value, env, { target: name, field }) : value;
  }
  // Same keys as `spec`, strings substituted: the shape of T is unchanged.
  return resolved as T;
}
