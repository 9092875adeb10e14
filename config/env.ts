import { z } from 'zod';
import { parseRoles, type RoleMap } from '../definitions/roles.ts';
import { SLACK_GROUP_ID, slackChannelId } from '../definitions/fields.ts';
import { deniedPattern, NAME_PATTERN, targetEnvPolicy, type TargetEnvPolicy } from '../definitions/target-env.ts';
import { addDemoEnv } from '../runtime/demo-env.ts';

const port = z.string().trim().regex(/^\d{1,5}$/, 'must be a port number 0-65535').transform(Number).refine((value) => value <= 65535, 'must be a port number 0-65535');
const optionalUrl = z.string().trim().min(1).optional();
const httpUrl = (example: string) => z.string().trim().regex(/^https?:\/\/[^\s/]+/, `must be a URL like ${example}`).optional();

/** GOLIVE_TARGET_ENV_ALLOW: NAME or PREFIX_* entries, comma-separated; none of them golive's own. */
const targetEnvAllow = z.string().optional().transform((value, ctx) => {
  if (value === undefined) return undefined;
  const entries = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (entries.length === 0) ctx.addIssue({ code: 'custom', message: 'lists no names: leave it unset to allow any name but golive\'s own' });
  for (const entry of entries) {
    const own = deniedPattern(entry);
    if (!NAME_PATTERN.test(entry)) ctx.addIssue({ code: 'custom', message: `"${entry}" is not a variable name or PREFIX_* (like ORDERS_DB_URL,UNLEASH_*)` });
    else if (own) ctx.addIssue({ code: 'custom', message: `${entry} names golive's own ${own.holds} (${own.pattern}), which targets may never use` });
  }
  return entries;
});

/** Every environment variable golive reads, parsed once at start-up. `.env.example` documents each. */
const EnvSchema = z.object({
  TEMPORAL_ADDRESS: z.string().trim().regex(/^[^\s:]+:\d+$/, 'must be HOST:PORT').optional(),
  TEMPORAL_NAMESPACE: z.string().trim().min(1).default('default'),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS: z.enum(['true', 'false']).default('false').transform((value) => value === 'true'),
  GOLIVE_TASK_QUEUE: z.string().trim().min(1).default('golive'),
  DATABASE_URL: optionalUrl.refine((value) => value === undefined || /^postgres(ql)?:\/\//.test(value), 'must start with postgres://'),
  GOLIVE_HTTP_HOST: z.string().trim().min(1).default('127.0.0.1'),
  GOLIVE_HTTP_PORT: port.default(8080),
  GOLIVE_ROLES: z.string().default('').transform((value, ctx) => {
    try {
      return parseRoles(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  }),
  GOLIVE_USER: z.string().trim().min(1).optional(),
  GOLIVE_HOME: z.string().trim().min(1).default('.golive'),
  GOLIVE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TEMPORAL_CLI: z.string().trim().min(1).optional(),
  GOLIVE_PG_BIN: z.string().trim().min(1).optional(),
  GOLIVE_NGINX_BIN: z.string().trim().min(1).default('nginx'),
  GOLIVE_TARGET_ENV_ALLOW: targetEnvAllow,
  GOLIVE_RUNBOOKS_DIR: z.string().trim().min(1).default('runbooks'),
  GOLIVE_CHECKLISTS_DIR: z.string().trim().min(1).default('checklists'),
  GOLIVE_ROLLOUTS_DIR: z.string().trim().min(1).default('rollouts'),
  SLACK_BOT_TOKEN: z.string().trim().regex(/^xox[a-z]-/, 'must be a Slack bot token (xoxb-...)').optional(),
  GOLIVE_SLACK_CHANNEL: slackChannelId.optional(),
  SLACK_SIGNING_SECRET: z.string().trim().regex(/^[0-9a-f]{16,}$/i, "must be the app's signing secret (hex, from Basic Information in the app's settings)").optional(),
  SLACK_APP_TOKEN: z.string().trim().regex(/^xapp-/, 'must be a Slack app-level token (xapp-...) with connections:write').optional(),
  GOLIVE_SLACK_SOCKET_MODE: z.enum(['true', 'false']).default('false').transform((value) => value === 'true'),
  GOLIVE_SLACK_GROUP_ROLES: z.string().default('').transform((value, ctx) => {
    try {
      const roles = parseRoles(value);
      const notGroups = Object.keys(roles).filter((group) => !SLACK_GROUP_ID.test(group));
      if (notGroups.length > 0) ctx.addIssue({ code: 'custom', message: `${notGroups.join(', ')}: must be Slack user group IDs like S0614TZR7` });
      return roles;
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  }),
  SLACK_API_URL: z.string().trim().url('must be a URL like https://slack.com/api/').default('https://slack.com/api/'),
  GOLIVE_OIDC_ISSUER: httpUrl('https://login.example.com/realms/ops'),
  GOLIVE_OIDC_AUDIENCE: z.string().trim().min(1).optional(),
  GOLIVE_OIDC_USER_CLAIM: z.string().trim().min(1).default('sub'),
  GOLIVE_OIDC_JWKS_URL: httpUrl('https://login.example.com/keys'),
  GOLIVE_URL: httpUrl('https://golive.internal:8080'),
  GOLIVE_TOKEN: z.string().trim().regex(/^glv_/, 'must be a golive API token (glv_...) from `golive token create`').optional(),
}).superRefine((value, ctx) => {
  const pairs = [['GOLIVE_OIDC_ISSUER', 'GOLIVE_OIDC_AUDIENCE'], ['GOLIVE_URL', 'GOLIVE_TOKEN']] as const;
  const needed = [
    ['SLACK_SIGNING_SECRET', 'SLACK_BOT_TOKEN'],
    ['GOLIVE_SLACK_SOCKET_MODE', 'SLACK_APP_TOKEN'],
    ['GOLIVE_SLACK_SOCKET_MODE', 'SLACK_BOT_TOKEN'],
  ] as const;
  for (const [setting, also] of needed) {
    if (value[setting] && value[also] === undefined) ctx.addIssue({ code: 'custom', path: [also], message: `must be set when ${setting} is` });
  }
  if (Object.keys(value.GOLIVE_SLACK_GROUP_ROLES).length > 0 && value.SLACK_BOT_TOKEN === undefined) {
    ctx.addIssue({ code: 'custom', path: ['SLACK_BOT_TOKEN'], message: 'must be set when GOLIVE_SLACK_GROUP_ROLES is: group members are read from Slack with it' });
  }
  for (const [first, second] of pairs) {
    if (value[first] !== undefined && value[second] === undefined) ctx.addIssue({ code: 'custom', path: [second], message: `must be set when ${first} is` });
    if (value[second] !== undefined && value[first] === undefined) ctx.addIssue({ code: 'custom', path: [first], message: `must be set when ${second} is` });
  }
});

export interface Config {
  temporal: { address?: string; namespace: string; taskQueue: string; apiKey?: string; tls: boolean };
  databaseUrl?: string;
  http: { host: string; port: number };
  roles: RoleMap;
  user?: string;
  home: string;
  logLevel: z.infer<typeof EnvSchema>['GOLIVE_LOG_LEVEL'];
  /** nginxBin: the nginx nginx actions run (GOLIVE_NGINX_BIN); a runbook never names an executable. */
  tools: { temporalCli?: string; pgBin?: string; nginxBin: string };
  /** Which `${NAME}` targets may resolve on this worker: never golive's own; only GOLIVE_TARGET_ENV_ALLOW when set. */
  targetEnv: TargetEnvPolicy;
  /** Where posture finds the runbooks of every protected service. */
  runbooksDir: string;
  /** Where a rollout plan's checklist (spec.checklist) is read from: `<checklistsDir>/<name>.yaml`. */
  checklistsDir: string;
  /** The rollout plans `golive rollout start NAME` and POST /api/rollouts start by name. */
  rolloutsDir: string;
  /**
   * Slack. token: the bot token every post and update is made with. channel: the channel ID of runs whose
   * definition names none (metadata.slack.channel). signingSecret: serve /slack/events. socketMode with
   * appToken: take the same events over Socket Mode instead. groupRoles: user group ID → roles of its members.
   */
  slack: { token?: string; channel?: string; apiUrl: string; signingSecret?: string; appToken?: string; socketMode: boolean; groupRoles: RoleMap };
  /** When set, the API also accepts bearer JWTs from this OpenID Connect provider; the user is `userClaim`. */
  oidc?: { issuer: string; audience: string; userClaim: string; jwksUrl?: string };
  /** When set, the CLI's run, drill history and posture commands go through this golive server's API. */
  remote?: { url: string; token: string };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parses the environment; a wrong value fails naming the variable and what it must be, never
 * echoing the value. Then adds to `env` the variables of GOLIVE_HOME/demo.env it does not set
 * (runtime/demo-env.ts): the targets of the demo's runbooks resolve after the demo ended, on
 * `golive dev`'s worker and in every command.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(blankToUndefined(env));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid environment:\n  ${lines.join('\n  ')}\nsee .env.example for every variable`);
  }
  const value = parsed.data;
  addDemoEnv(env, value.GOLIVE_HOME);
  return {
    temporal: {
      address: value.TEMPORAL_ADDRESS,
      namespace: value.TEMPORAL_NAMESPACE,
      taskQueue: value.GOLIVE_TASK_QUEUE,
      apiKey: value.TEMPORAL_API_KEY,
      tls: value.TEMPORAL_TLS,
    },
    databaseUrl: value.DATABASE_URL,
    http: { host: value.GOLIVE_HTTP_HOST, port: value.GOLIVE_HTTP_PORT },
    roles: value.GOLIVE_ROLES,
    user: value.GOLIVE_USER,
    home: value.GOLIVE_HOME,
    logLevel: value.GOLIVE_LOG_LEVEL,
    tools: { temporalCli: value.TEMPORAL_CLI, pgBin: value.GOLIVE_PG_BIN, nginxBin: value.GOLIVE_NGINX_BIN },
    targetEnv: targetEnvPolicy(value.GOLIVE_TARGET_ENV_ALLOW),
    runbooksDir: value.GOLIVE_RUNBOOKS_DIR,
    checklistsDir: value.GOLIVE_CHECKLISTS_DIR,
    rolloutsDir: value.GOLIVE_ROLLOUTS_DIR,
    slack: {
      token: value.SLACK_BOT_TOKEN, channel: value.GOLIVE_SLACK_CHANNEL, apiUrl: value.SLACK_API_URL,
      signingSecret: value.SLACK_SIGNING_SECRET, appToken: value.SLACK_APP_TOKEN, socketMode: value.GOLIVE_SLACK_SOCKET_MODE, groupRoles: value.GOLIVE_SLACK_GROUP_ROLES,
    },
    oidc: value.GOLIVE_OIDC_ISSUER && value.GOLIVE_OIDC_AUDIENCE
      ? { issuer: value.GOLIVE_OIDC_ISSUER, audience: value.GOLIVE_OIDC_AUDIENCE, userClaim: value.GOLIVE_OIDC_USER_CLAIM, jwksUrl: value.GOLIVE_OIDC_JWKS_URL }
      : undefined,
    remote: value.GOLIVE_URL && value.GOLIVE_TOKEN ? { url: value.GOLIVE_URL.replace(/\/+$/, ''), token: value.GOLIVE_TOKEN } : undefined,
  };
}

function blankToUndefined(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const keys = Object.keys(EnvSchema.shape);
  return Object.fromEntries(keys.map((key) => [key, env[key]?.trim() === '' ? undefined : env[key]]));
}
