import type { Role, RoleDirectory, RoleMap } from '../definitions/roles.ts';
import type { IdentityStore } from '../store/identity.ts';

type GrantSource = Pick<IdentityStore, 'grantedRoles' | 'grantHolders'>;

/**
 * Who holds which role: GOLIVE_ROLES together with the grants in golive's Postgres. When the
 * grants cannot be read, it answers from GOLIVE_ROLES alone and logs that it did: a missing
 * database can only take roles away, never give one.
 */
export function createRoleDirectory(staticRoles: RoleMap, store?: GrantSource, logger?: { warn(fields: object, message: string): void }): RoleDirectory {
  async function fromDatabase<T>(question: string, read: (grants: GrantSource) => Promise<T[]>): Promise<T[]> {
    if (!store) return [];
    try {
      return await read(store);
    } catch (error) {
      logger?.warn({ err: error, question }, 'cannot read role grants from golive\'s database; answering from GOLIVE_ROLES alone');
      return [];
    }
  }

  return {
    async rolesOf(user) {
      const granted = await fromDatabase(`roles of ${user}`, (grants) => grants.grantedRoles(user));
      return [...new Set<Role>([...(staticRoles[user] ?? []), ...granted])];
    },
    async holders(roles) {
      const configured = Object.entries(staticRoles).filter(([, held]) => held.some((role) => roles.includes(role))).map(([user]) => user);
      const granted = await fromDatabase(`holders of ${roles.join(', ')}`, (grants) => grants.grantHolders(roles));
      return [...new Set([...configured, ...granted])].sort();
    },
  };
}
