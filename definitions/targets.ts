import { z } from 'zod';
import { businessFailure } from './failures.ts';

/**
 * Targets are the real systems a runbook acts on. Values may name environment variables as
 * ${NAME}; the worker resolves them when a step runs, so secrets never enter workflow history.
 */
export const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const WHOLE_ENV_REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;

const text = z.string().trim().min(1);
const envOnly = (what: string) =>
  text.regex(WHOLE_ENV_REFERENCE, `${what} is a secret: name an environment variable, like \${UNLEASH_TOKEN}`);
const connectionUrl = text.refine(
  (url) => !/^[a-z]+:\/\/[^/@:]+:[^/@]+@/i.test(url),
  'this URL carries a password: put the whole URL in an environment variable and write ${NAME}',
);

const base = { description: z.string().optional() };

export const TargetSchemas = {
  postgres: z.strictObject({ type: z.literal('postgres'), url: connectionUrl, ...base }),
  http: z.strictObject({ type: z.literal('http'), url: connectionUrl, ...base }),
  prometheus: z.strictObject({ type: z.literal('prometheus'), url: connectionUrl, ...base }),
  nginx: z.strictObject({
    type: z.literal('nginx'),
    prefix: text,
    config: text.default('conf/nginx.conf'),
    upstreamFile: text,
    binary: text.default('nginx'),
    ...base,
  }),
  route53: z.strictObject({ type: z.literal('route53'), hostedZoneId: text, region: text.optional(), ...base }),
  autoscaling: z.strictObject({ type: z.literal('autoscaling'), groupName: text, region: text.optional(), ...base }),
  s3: z.strictObject({ type: z.literal('s3'), bucket: text, prefix: z.string().default(''), region: text.optional(), ...base }),
  filesystem: z.strictObject({ type: z.literal('filesystem'), path: text, ...base }),
  unleash: z.strictObject({ type: z.literal('unleash'), url: connectionUrl, token: envOnly('token'), ...base }),
  docker: z.strictObject({ type: z.literal('docker'), host: text.optional(), container: text, ...base }),
} as const;

export type TargetType = keyof typeof TargetSchemas;
export const TARGET_TYPES = Object.keys(TargetSchemas) as TargetType[];

export const TargetSchema = z.discriminatedUnion('type', [
  TargetSchemas.postgres,
  TargetSchemas.http,
  TargetSchemas.prometheus,
  TargetSchemas.nginx,
  TargetSchemas.route53,
  TargetSchemas.autoscaling,
  TargetSchemas.s3,
  TargetSchemas.filesystem,
  TargetSchemas.unleash,
  TargetSchemas.docker,
]);

export type Target = z.infer<typeof TargetSchema>;
export type TargetOf<T extends TargetType> = Extract<Target, { type: T }>;

/** The variables a target's `${NAME}` references are read from: the worker's (or the CLI's) environment. */
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
