/**
 * Which environment variables a target's `${NAME}` may name. A runbook decides where a step
 * sends what a target resolves to (an http.check URL, a postgres URL), so a target that could
 * name golive's own credentials could send them anywhere. Two fences:
 *  - OWN_VARIABLES, always: `golive validate` refuses them and no worker resolves them;
 *  - an allow list a worker may add (GOLIVE_TARGET_ENV_ALLOW): then only those names resolve.
 * Pure: the worker passes its policy in; nothing here reads the environment.
 */

/** A name (`DATABASE_URL`) or a prefix ending in `*` (`AWS_*`). */
export type NamePattern = string;

export interface OwnVariable {
  pattern: NamePattern;
  /** What golive uses these for, finishing "names golive's own ...". */
  holds: string;
}

/**
 * golive's own configuration and credentials, and settings of the process itself. None of
 * them belongs to a system a runbook reaches; each lets a runbook read something it must not:
 *  - DATABASE_URL: golive's database, with its password;
 *  - TEMPORAL_*: how the worker reaches Temporal (TEMPORAL_API_KEY);
 *  - GOLIVE_*: golive's settings (GOLIVE_ROLES, GOLIVE_DB_PASSWORD of docker compose);
 *  - SLACK_*: the bot token drill results are posted with;
 *  - AWS_*: the worker's AWS credentials (AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), which
 *    golive's own AWS actions use; targets name zones, groups and buckets, never keys;
 *  - PG*: libpq's defaults (PGPASSWORD, PGPASSFILE, PGSSLKEY), which pg_dump and psql pick up;
 *  - NODE_*: the Node.js runtime (NODE_OPTIONS loads code, NODE_TLS_REJECT_UNAUTHORIZED);
 *  - NPM_*: npm's settings and tokens (NPM_TOKEN, npm_config_* under `npm run`);
 *  - HTTP_PROXY, HTTPS_PROXY, ALL_PROXY: proxies, often with a password in the URL.
 * Matching ignores case (`http_proxy` is the same variable to most tools). Service variables
 * such as ORDERS_DB_URL or UNLEASH_TOKEN stay allowed: they are what targets are for.
 */
export const OWN_VARIABLES: readonly OwnVariable[] = [
  { pattern: 'DATABASE_URL', holds: 'credentials' },
  { pattern: 'TEMPORAL_*', holds: 'configuration and credentials' },
  { pattern: 'GOLIVE_*', holds: 'configuration' },
  { pattern: 'SLACK_*', holds: 'credentials' },
  { pattern: 'AWS_*', holds: 'credentials' },
  { pattern: 'PG*', holds: 'credentials' },
  { pattern: 'NODE_*', holds: 'process settings' },
  { pattern: 'NPM_*', holds: 'process settings' },
  { pattern: 'HTTP_PROXY', holds: 'process settings' },
  { pattern: 'HTTPS_PROXY', holds: 'process settings' },
  { pattern: 'ALL_PROXY', holds: 'process settings' },
];

export interface TargetEnvPolicy {
  /** Names no target may use. */
  deny: readonly OwnVariable[];
  /** The only names targets may use (case as written); undefined: any name not denied. */
  allow?: readonly NamePattern[];
}

/** The policy of a worker: golive's own variables always denied, plus its allow list if it has one. */
export function targetEnvPolicy(allow?: readonly NamePattern[]): TargetEnvPolicy {
  return allow === undefined ? { deny: OWN_VARIABLES } : { deny: OWN_VARIABLES, allow };
}

/** A policy without an allow list: what a worker with GOLIVE_TARGET_ENV_ALLOW unset enforces. */
export const DENY_OWN_VARIABLES: TargetEnvPolicy = targetEnvPolicy();

export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*\*?$/;

function matches(pattern: NamePattern, name: string, ignoreCase: boolean): boolean {
  const [wanted, actual] = ignoreCase ? [pattern.toUpperCase(), name.toUpperCase()] : [pattern, name];
  return wanted.endsWith('*') ? actual.startsWith(wanted.slice(0, -1)) : actual === wanted;
}

/** The entry of golive's own variables `name` falls under, if any. */
export function ownVariable(name: string, deny: readonly OwnVariable[] = OWN_VARIABLES): OwnVariable | undefined {
  return deny.find((entry) => matches(entry.pattern, name, true));
}

/** An allow-list entry every name of which is denied anyway (`AWS_*`, `PGPASSWORD`): a mistake in the list. */
export function deniedPattern(pattern: NamePattern, deny: readonly OwnVariable[] = OWN_VARIABLES): OwnVariable | undefined {
  const stem = pattern.endsWith('*') ? pattern.slice(0, -1) : pattern;
  return deny.find((entry) => (entry.pattern.endsWith('*') || !pattern.endsWith('*')) && matches(entry.pattern, stem, true));
}

/**
 * The process that resolves a target, so its messages say whose environment lacks a variable:
 * a worker running a step, or the golive CLI (`golive heartbeat`, `golive backup list`).
 */
export type ResolvingProcess = 'worker' | 'cli';

interface ProcessWords {
  /** The process as the subject of a sentence. */
  name: string;
  /** Where its variables are. */
  where: string;
  /** What to do about a variable that is not set there, if anything needs saying. */
  fix?: string;
  /** What to do about one of the demo's variables. */
  demoFix: string;
}

const DEMO_ENV = "`golive dev`, which loads the demo's variables from GOLIVE_HOME/demo.env";

const WORDS: Record<ResolvingProcess, ProcessWords> = {
  worker: { name: 'this worker', where: 'on this worker', demoFix: `start the worker with ${DEMO_ENV}` },
  cli: {
    name: 'this golive CLI',
    where: "in this golive CLI's environment",
    fix: 'export it and run the command again',
    demoFix: `export it, or run ${DEMO_ENV}`,
  },
};

/** The variables `golive dev` sets for the shipped demo runbooks. */
const DEMO_VARIABLES: NamePattern = 'DEMO_*';

/** Why a target may not name `name` under `policy`, or undefined when it may. */
export function refusal(name: string, policy: TargetEnvPolicy, resolvedIn: ResolvingProcess = 'worker'): string | undefined {
  const owner = WORDS[resolvedIn].name;
  const own = ownVariable(name, policy.deny);
  if (own) return `names golive's own ${own.holds}: ${owner} does not resolve it`;
  if (policy.allow !== undefined && !policy.allow.some((pattern) => matches(pattern, name, false))) {
    const listed = policy.allow.length === 0 ? 'which is empty' : `(${policy.allow.join(', ')})`;
    return `is not in ${owner}'s GOLIVE_TARGET_ENV_ALLOW ${listed}: ${owner} does not resolve it`;
  }
  return undefined;
}

/** Why a variable a target names cannot be read: it is not set where `resolvedIn` looks, and what to do. */
export function notSet(name: string, resolvedIn: ResolvingProcess = 'worker'): string {
  const words = WORDS[resolvedIn];
  const fix = matches(DEMO_VARIABLES, name, false) ? words.demoFix : words.fix;
  return `is not set ${words.where}${fix === undefined ? '' : `: ${fix}`}`;
}

/** The validation message for a target naming one of golive's own variables. */
export function ownVariableMessage(name: string, own: OwnVariable): string {
  return `\${${name}} names golive's own ${own.holds}; targets may only name variables of the systems they reach (like \${ORDERS_DB_URL})`;
}
