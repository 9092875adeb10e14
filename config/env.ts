import { z } from 'zod';
import { parseRoles, type RoleMap } from '../definitions/roles.ts';

const port = z.string().trim().regex(/^\d{1,5}$/, 'must be a port number 0-65535').transform(Number).refine((value) => value <= 65535, 'must be a port number 0-65535');
const optionalUrl = z.string().trim().min(1).optional();

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
  GOLIVE_RUNBOOKS_DIR: z.string().trim().min(1).default('runbooks'),
  SLACK_BOT_TOKEN: z.string().trim().regex(/^xox[a-z]-/, 'must be a Slack bot token (xoxb-...)').optional(),
  GOLIVE_SLACK_CHANNEL: z.string().trim().min(1).optional(),
  SLACK_API_URL: z.string().trim().url('must be a URL like https://slack.com/api/').default('https://slack.com/api/'),
});

export interface Config {
  temporal: { address?: string; namespace: string; taskQueue: string; apiKey?: string; tls: boolean };
  databaseUrl?: string;
  http: { host: string; port: number };
  roles: RoleMap;
  user?: string;
  home: string;
  logLevel: z.infer<typeof EnvSchema>['GOLIVE_LOG_LEVEL'];
  tools: { temporalCli?: string; pgBin?: string };
  /** Where posture finds the runbooks of every protected service. */
  runbooksDir: string;
  /** Drill results go to this channel when both are set; otherwise to the log only. */
  slack: { token?: string; channel?: string; apiUrl: string };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment; a wrong value fails naming the variable and what it must be, never echoing the value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(blankToUndefined(env));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid environment:\n  ${lines.join('\n  ')}\nsee .env.example for every variable`);
  }
  const value = parsed.data;
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
    tools: { temporalCli: value.TEMPORAL_CLI, pgBin: value.GOLIVE_PG_BIN },
    runbooksDir: value.GOLIVE_RUNBOOKS_DIR,
    slack: { token: value.SLACK_BOT_TOKEN, channel: value.GOLIVE_SLACK_CHANNEL, apiUrl: value.SLACK_API_URL },
  };
}

function blankToUndefined(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const keys = Object.keys(EnvSchema.shape);
  return Object.fromEntries(keys.map((key) => [key, env[key]?.trim() === '' ? undefined : env[key]]));
}
