/** The roles golive knows. Approval gates name the roles that may decide them. */
export const ROLES = ['release-manager', 'incident-commander', 'approver'] as const;
export type Role = (typeof ROLES)[number];

/** User id (Slack user id or CLI user) → the roles that user holds. */
export type RoleMap = Record<string, Role[]>;

function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/**
 * Parses `alice=release-manager+approver,U024BE7LH=incident-commander`.
 * Throws an Error naming the bad entry.
 */
export function parseRoles(text: string): RoleMap {
  const roles: RoleMap = {};
  for (const entry of text.split(',').map((part) => part.trim()).filter(Boolean)) {
    const parts = entry.split('=').map((part) => part.trim());
    const [user, list] = parts;
    const names = list?.split('+').map((name) => name.trim()) ?? [];
    if (parts.length !== 2 || !user || names.some((name) => name === '')) throw new Error(`"${entry}" must be USER=ROLE[+ROLE...]`);
    const unknown = names.filter((name) => !isRole(name));
    if (unknown.length > 0) throw new Error(`"${entry}": unknown role ${unknown.join(', ')} (known: ${ROLES.join(', ')})`);
    roles[user] = [...new Set([...(roles[user] ?? []), ...names.filter(isRole)])];
  }
  return roles;
}

export function rolesOf(roles: RoleMap, user: string): Role[] {
  return roles[user] ?? [];
}

/**
 * Who holds which role, as golive's server-side configuration says now: the worker's and
 * server's GOLIVE_ROLES and the grants in golive's Postgres. Never the caller's word.
 */
export interface RoleDirectory {
  rolesOf(user: string): Promise<Role[]>;
  /** Every user holding at least one of `roles`. */
  holders(roles: readonly Role[]): Promise<string[]>;
}
