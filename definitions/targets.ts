import { z } from 'zod';
import { businessFailure } from './failures.ts';
import {
  DENY_OWN_VARIABLES,
  notSet,
  ownVariable,
  ownVariableMessage,
  refusal,
  type ResolvingProcess,
  type TargetEnvPolicy,
} from './target-env.ts';

/**
 * Targets are the real systems a runbook acts on. Values may name environment variables as
 * ${NAME}; the worker resolves them when a step runs, so secrets never enter workflow history.
 */
export const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const WHOLE_ENV_REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;

/** Refuses `${NAME}` of golive's own configuration and credentials (see target-env.ts). */
function namesOnlyReachedSystems(value: string, ctx: z.RefinementCtx): void {
  for (const match of value.matchAll(ENV_REFERENCE)) {
    const name = match[1] ?? '';
    const own = ownVariable(name);
    if (own) ctx.addIssue({ code: 'custom', message: ownVariableMessage(name, own) });
  }
}

const anyText = z.string().superRefine(namesOnlyReachedSystems);
const text = z.string().trim().min(1).superRefine(namesOnlyReachedSystems);
const envOnly = (what: string) =>
  text.regex(WHOLE_ENV_REFERENCE, `${what} is a secret: name an environment variable, like \${UNLEASH_TOKEN}`);
const connectionUrl = text.refine(
  (url) => !/^[a-z]+:\/\/[^/@:]+:[^/@]+@/i.test(url),
  'this URL carries a password: put the whole URL in an environment variable and write ${NAME}',
);

const base = { description: anyText.optional() };

/** A field the worker's configuration decides: a runbook that sets it is told where it is set. */
const setByWorker = (message: string) =>
  z
    .unknown()
    .superRefine((value, ctx) => {
      if (value !== undefined) ctx.addIssue({ code: 'custom', message });
    })
    .transform(() => undefined)
    .optional();

export const TargetSchemas = {
  postgres: z.strictObject({ type: z.literal('postgres'), url: connectionUrl, ...base }),
  http: z.strictObject({ type: z.literal('http'), url: connectionUrl, ...base }),
  prometheus: z.strictObject({ type: z.literal('prometheus'), url: connectionUrl, ...base }),
  nginx: z.strictObject({
    type: z.literal('nginx'),
    prefix: text,
    config: text.default('conf/nginx.conf'),
    upstreamFile: text,
    binary: setByWorker("remove binary: the worker's GOLIVE_NGINX_BIN decides which nginx runs (default: nginx from PATH), never a runbook"),
    ...base,
  }),
  route53: z.strictObject({ type: z.literal('route53'), hostedZoneId: text, region: text.optional(), ...base }),
  autoscaling: z.strictObject({ type: z.literal('autoscaling'), groupName: text, region: text.optional(), ...base }),
  s3: z.strictObject({ type: z.literal('s3'), bucket: text, prefix: anyText.default(''), region: text.optional(), ...base }),
  filesystem: z.strictObject({ type: z.literal('filesystem'), path: text, ...base }),
  unleash: z.strictObject({ type: z.literal('unleash'), url: connectionUrl, token: envOnly('token'), ...base }),
  docker: z.strictObject({ type: z.literal('docker'), host: text.default('unix:///var/run/docker.sock'), ...base }),
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
 * Replaces every `${VAR}` in `text` from `env`. A name the policy refuses, and a missing or
 * empty variable, fail the step naming the target, the field, the variable and the process
 * that looked for it; no resolved value ever appears in a message.
 */
export function resolveText(
  text: string,
  env: Environment,
  where: { target: string; field: string },
  policy: TargetEnvPolicy = DENY_OWN_VARIABLES,
  resolvedIn: ResolvingProcess = 'worker',
): string {
  for (const match of text.matchAll(ENV_REFERENCE)) {
    const variable = match[1] ?? '';
    const refused = refusal(variable, policy, resolvedIn);
    if (refused) throw businessFailure(`target ${where.target}: \${${variable}} (used in ${where.field}) ${refused}`, 'InvalidTarget');
  }
  return text.replace(ENV_REFERENCE, (_reference, variable: string) => {
    const value = env[variable];
    if (value === undefined || value === '') {
      const message = `target ${where.target}: environment variable ${variable} (used in ${where.field}) ${notSet(variable, resolvedIn)}`;
      throw businessFailure(message, 'MissingEnvironment');
    }
    return value;
  });
}

/**
 * The target with every string field resolved, never in a workflow. A worker passes its
 * policy (golive's own variables, GOLIVE_TARGET_ENV_ALLOW); the default refuses golive's own
 * variables only. `resolvedIn` names the process in messages: the CLI passes 'cli'.
 */
export function resolveTarget<T extends Target>(
  name: string,
  spec: T,
  env: Environment,
  policy: TargetEnvPolicy = DENY_OWN_VARIABLES,
  resolvedIn: ResolvingProcess = 'worker',
): T {
  const resolved: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(spec)) {
    resolved[field] = typeof value === 'string' ? resolveText(value, env, { target: name, field }, policy, resolvedIn) : value;
  }
  // Same keys as `spec`, strings substituted: the shape of T is unchanged.
  return resolved as T;
}
