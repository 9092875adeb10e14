import { Command, Option } from 'commander';
import { loadConfig, type Config } from '../config/env.ts';
import { formatDuration, parseDuration } from '../definitions/duration.ts';
import { ROLES, type Role } from '../definitions/roles.ts';
import { createPool } from '../runtime/connections.ts';
import { StackUnavailable, UserError } from '../runtime/errors.ts';
import { readLiveStack } from '../runtime/stack-file.ts';
import { createPgIdentityStore, type Actor, type IdentityStore, type TokenInfo } from '../store/identity.ts';
import { actingUser, formatTable, print, printJson } from './context.ts';
import { formatTime } from './format-run.ts';

const json = () => new Option('--json', 'print JSON');
/** Longest API token lifetime `--expires` accepts; longer-lived access should be a token created again. */
const MAX_EXPIRY_MS = 366 * 86_400_000;
const UNDEFINED_TABLE = '42P01';

interface IdentityContext {
  config: Config;
  identity: IdentityStore;
  /** The OS login (or GOLIVE_USER) acting on the command line. */
  actor: Actor;
}

/** Operator commands talk to golive's Postgres directly: they need DATABASE_URL (or a running `golive dev`), never the API. */
async function withIdentity<T>(work: (context: IdentityContext) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const databaseUrl = config.databaseUrl ?? readLiveStack(config.home)?.databaseUrl;
  if (!databaseUrl) throw new StackUnavailable("golive token and golive roles work on golive's Postgres directly: set DATABASE_URL, or start `golive dev` in this folder");
  const pool = createPool(databaseUrl);
  try {
    return await work({ config, identity: createPgIdentityStore(pool), actor: { name: actingUser(undefined, config), channel: 'cli' } });
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === UNDEFINED_TABLE) {
      throw new UserError("golive's database has no identity tables yet: start `golive server` or `golive dev` once so it applies its migrations");
    }
    throw error;
  } finally {
    await pool.end();
  }
}

function userName(value: string): string {
  const user = value.trim();
  if (!/^\S{1,200}$/.test(user)) throw new UserError(`user "${value}" must be one word of at most 200 characters, like alice, U024BE7LH or an OIDC subject`);
  return user;
}

function roleName(value: string): Role {
  const role = ROLES.find((known) => known === value);
  if (!role) throw new UserError(`unknown role ${value} (known: ${ROLES.join(', ')})`);
  return role;
}

function expiryDate(value: string, now = new Date()): Date | undefined {
  if (value === 'never') return undefined;
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0 || ms > MAX_EXPIRY_MS) {
    throw new UserError(`--expires takes a duration like 30d or 12h, at most ${formatDuration(MAX_EXPIRY_MS)}, or never; got ${value}`);
  }
  return new Date(now.getTime() + ms);
}

const tokenStatus = (token: TokenInfo, now = Date.now()) =>
  token.revokedAt ? 'revoked' : token.expiresAt && Date.parse(token.expiresAt) <= now ? 'expired' : 'active';

function formatTokens(tokens: (TokenInfo & { status: string })[]): string {
  if (tokens.length === 0) return 'no API tokens yet: create one with `golive token create --user USER`';
  return formatTable([
    ['ID', 'USER', 'STATUS', 'CREATED', 'BY', 'EXPIRES', 'LAST USED', 'REVOKED BY'],
    ...tokens.map((token) => [
      token.id, token.user, token.status, formatTime(token.createdAt), token.createdBy, token.expiresAt ? formatTime(token.expiresAt) : 'never',
      formatTime(token.lastUsedAt) || 'never', token.revokedBy ?? '',
    ]),
  ]);
}

/** `golive token create|list|revoke`: API tokens, each belonging to one user. */
export function tokenCommand(): Command {
  const token = new Command('token').description("API tokens for golive's HTTP API (operators only: works on golive's Postgres directly)");
  token.command('create')
    .description('create an API token for a user; the token is printed once and golive keeps only its hash')
    .requiredOption('--user <user>', 'the user the token acts as')
    .option('--expires <duration>', 'lifetime, like 30d or 12h, or never', '90d')
    .addOption(json())
    .action(async (options: { user: string; expires: string; json?: boolean }) => {
      const user = userName(options.user);
      const expiresAt = expiryDate(options.expires);
      const created = await withIdentity(({ identity, actor }) => identity.createToken({ user, expiresAt }, actor));
      if (options.json) return printJson(created);
      console.log(created.token);
      console.error(`created token ${created.id} for ${user}, expires ${created.expiresAt ? formatTime(created.expiresAt) : 'never'}`);
      console.error(`golive keeps only its hash: store it now, it cannot be shown again. Revoke it with \`golive token revoke ${created.id}\``);
    });
  token.command('list')
    .description('every API token: user, status, expiry, last use (never the secret)')
    .addOption(json())
    .action(async (options: { json?: boolean }) => {
      const tokens = await withIdentity(({ identity }) => identity.listTokens());
      print({ tokens: tokens.map((entry) => ({ ...entry, status: tokenStatus(entry) })) }, options.json, (answer) => formatTokens(answer.tokens));
    });
  token.command('revoke')
    .description('revoke an API token at once; requests with it get 401 from then on')
    .argument('<id>', 'the token id (from `golive token list`)')
    .action(async (id: string) => {
      const answer = await withIdentity(({ identity, actor }) => identity.revokeToken(id, actor));
      if (!answer) throw new UserError(`no token ${id}: list tokens with \`golive token list\``);
      const { token: revoked, changed } = answer;
      console.log(changed
        ? `revoked token ${id} of ${revoked.user}`
        : `token ${id} of ${revoked.user} was already revoked at ${formatTime(revoked.revokedAt)} by ${revoked.revokedBy}; nothing changed`);
    });
  return token;
}

interface RoleEntry {
  user: string;
  role: Role;
  source: 'GOLIVE_ROLES' | 'database';
  grantedBy?: string;
  grantedAt?: string;
}

function formatRoles(entries: RoleEntry[]): string {
  if (entries.length === 0) return 'nobody holds a role: set GOLIVE_ROLES or run `golive roles grant USER ROLE`';
  const table = formatTable([
    ['USER', 'ROLE', 'SOURCE', 'GRANTED BY', 'GRANTED'],
    ...entries.map((entry) => [entry.user, entry.role, entry.source, entry.grantedBy ?? '', formatTime(entry.grantedAt)]),
  ]);
  return `${table}\n\nGOLIVE_ROLES is read from this shell's environment; workers and servers judge by their own GOLIVE_ROLES and the database grants.`;
}

/** `golive roles grant|revoke|list`: roles granted in golive's database, on top of GOLIVE_ROLES. */
export function rolesCommand(): Command {
  const roles = new Command('roles').description("who holds which role: GOLIVE_ROLES and grants in golive's database (operators only)");
  roles.command('grant')
    .description(`grant a role (${ROLES.join(', ')}) to a user; recorded with who granted it`)
    .argument('<user>', 'user: a token user, OIDC subject, Slack user id or CLI user')
    .argument('<role>', `one of ${ROLES.join(', ')}`)
    .action(async (userArgument: string, roleArgument: string) => {
      const [user, role] = [userName(userArgument), roleName(roleArgument)];
      const { grant, changed } = await withIdentity(({ identity, actor }) => identity.grantRole(user, role, actor));
      console.log(changed ? `granted ${role} to ${user}` : `${user} already holds ${role} (granted by ${grant.grantedBy} at ${formatTime(grant.grantedAt)}); nothing changed`);
    });
  roles.command('revoke')
    .description("revoke a role granted in golive's database")
    .argument('<user>', 'user')
    .argument('<role>', `one of ${ROLES.join(', ')}`)
    .action(async (userArgument: string, roleArgument: string) => {
      const [user, role] = [userName(userArgument), roleName(roleArgument)];
      const { changed, config } = await withIdentity(async ({ identity, actor, config: loaded }) => ({ changed: await identity.revokeRole(user, role, actor), config: loaded }));
      const configured = (config.roles[user] ?? []).includes(role) ? `; GOLIVE_ROLES here still gives ${user} ${role}: change it where workers and servers run` : '';
      if (!changed) throw new UserError(`${user} holds no database grant of ${role}; nothing changed${configured}`);
      console.log(`revoked ${role} from ${user}${configured}`);
    });
  roles.command('list')
    .description('every role holder, from GOLIVE_ROLES and from database grants, with the source of each')
    .addOption(json())
    .action(async (options: { json?: boolean }) => {
      const { grants, config } = await withIdentity(async ({ identity, config: loaded }) => ({ grants: await identity.listGrants(), config: loaded }));
      const configured = Object.entries(config.roles).flatMap(([user, held]) => held.map((role): RoleEntry => ({ user, role, source: 'GOLIVE_ROLES' })));
      const granted = grants.map((grant): RoleEntry => ({ ...grant, source: 'database' }));
      const entries = [...configured, ...granted].sort((a, b) => a.user.localeCompare(b.user) || a.role.localeCompare(b.role) || a.source.localeCompare(b.source));
      print({ roles: entries }, options.json, (answer) => formatRoles(answer.roles));
    });
  return roles;
}
