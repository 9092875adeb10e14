import type { Config } from '../config/env.ts';
import type { Role, RoleDirectory, RoleMap } from '../definitions/roles.ts';
import type { IdentityStore } from '../store/identity.ts';
import { createSlackGroupMembers, type SlackGroupMembers } from './slack-groups.ts';

type GrantSource = Pick<IdentityStore, 'grantedRoles' | 'grantHolders'>;
type Warn = { warn(fields: object, message: string): void };

/** Slack user groups whose members hold roles (GOLIVE_SLACK_GROUP_ROLES), and where their members are read. */
export interface GroupRoles {
  roles: RoleMap;
  source: SlackGroupMembers;
}

/**
 * Who holds which role: GOLIVE_ROLES together with the grants in golive's Postgres and, when given,
 * the roles of the Slack user groups a user is in. When the grants cannot be read, it answers
 * without them and logs that it did; a group Slack says nothing about gives nobody a role. A
 * missing database or Slack can only take roles away, never give one.
 */
export function createRoleDirectory(staticRoles: RoleMap, store?: GrantSource, logger?: Warn, groups?: GroupRoles): RoleDirectory {
  async function fromDatabase<T>(question: string, read: (grants: GrantSource) => Promise<T[]>): Promise<T[]> {
    if (!store) return [];
    try {
      return await read(store);
    } catch (error) {
      logger?.warn({ err: error, question }, 'cannot read role grants from golive\'s database; answering from GOLIVE_ROLES alone');
      return [];
    }
  }

  /** The groups giving at least one of `roles` (all of them when not given), each with its members. */
  async function groupMembers(roles?: readonly Role[]): Promise<Array<{ held: Role[]; members: string[] }>> {
    const giving = Object.entries(groups?.roles ?? {}).filter(([, held]) => roles === undefined || held.some((role) => roles.includes(role)));
    return Promise.all(giving.map(async ([group, held]) => ({ held, members: groups ? await groups.source.members(group) : [] })));
  }

  return {
    async rolesOf(user) {
      const [granted, fromGroups] = await Promise.all([fromDatabase(`roles of ${user}`, (grants) => grants.grantedRoles(user)), groupMembers()]);
      const inGroups = fromGroups.filter((group) => group.members.includes(user)).flatMap((group) => group.held);
      return [...new Set<Role>([...(staticRoles[user] ?? []), ...granted, ...inGroups])];
    },
    async holders(roles) {
      const configured = Object.entries(staticRoles).filter(([, held]) => held.some((role) => roles.includes(role))).map(([user]) => user);
      const [granted, fromGroups] = await Promise.all([fromDatabase(`holders of ${roles.join(', ')}`, (grants) => grants.grantHolders(roles)), groupMembers(roles)]);
      return [...new Set([...configured, ...granted, ...fromGroups.flatMap((group) => group.members)])].sort();
    },
  };
}

/**
 * The role directory of golive's worker and of its server, built the same way for both so that the
 * server's checks and the worker's judgement of a decision agree: GOLIVE_ROLES, the grants in
 * golive's Postgres, and the members of GOLIVE_SLACK_GROUP_ROLES' user groups when SLACK_BOT_TOKEN is set.
 */
export function createConfiguredRoleDirectory(config: Pick<Config, 'roles' | 'slack'>, store: GrantSource, logger?: Warn): RoleDirectory {
  const { token, apiUrl, groupRoles } = config.slack;
  // loadConfig refuses GOLIVE_SLACK_GROUP_ROLES without SLACK_BOT_TOKEN; a hand-built config without it gets no groups.
  const groups = Object.keys(groupRoles).length > 0 && token !== undefined ? { roles: groupRoles, source: createSlackGroupMembers({ token, apiUrl, logger }) } : undefined;
  return createRoleDirectory(config.roles, store, logger, groups);
}
