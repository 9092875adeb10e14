import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import { ROLES, type Role } from '../definitions/roles.ts';
import type { Channel } from '../workflows/definitions.ts';
import { inTransaction } from './transaction.ts';

/** Who changed tokens or grants, and how they reached golive. */
export interface Actor {
  name: string;
  channel: Channel;
}

/** A token as golive lists it: never the secret, never its hash. */
export interface TokenInfo {
  id: string;
  user: string;
  createdAt: string;
  createdBy: string;
  expiresAt?: string;
  revokedAt?: string;
  revokedBy?: string;
  lastUsedAt?: string;
}

/** The answer to creating a token: the only time its secret is shown. */
export interface CreatedToken {
  token: string;
  id: string;
  user: string;
  expiresAt?: string;
}

export interface RoleGrant {
  user: string;
  role: Role;
  grantedBy: string;
  grantedAt: string;
}

export interface AdminEvent {
  id: number;
  at: string;
  actor: string;
  channel: string;
  action: string;
  subject: string;
  detail: Record<string, unknown>;
}

/** API tokens and database role grants; every change is written with an admin event in one transaction. */
export interface IdentityStore {
  createToken(input: { user: string; expiresAt?: Date }, actor: Actor): Promise<CreatedToken>;
  /** The user of a live token; undefined for anything else (malformed, unknown, wrong secret, expired, revoked). */
  verifyToken(token: string, now?: Date): Promise<{ user: string; tokenId: string } | undefined>;
  listTokens(): Promise<TokenInfo[]>;
  /** Undefined when no token has this id; `changed` is false when it was already revoked. */
  revokeToken(id: string, actor: Actor): Promise<{ token: TokenInfo; changed: boolean } | undefined>;
  /** `changed` is false when the user already held the role; the grant returned is then the existing one. */
  grantRole(user: string, role: Role, actor: Actor): Promise<{ grant: RoleGrant; changed: boolean }>;
  /** False when the database did not grant the user this role. */
  revokeRole(user: string, role: Role, actor: Actor): Promise<boolean>;
  listGrants(): Promise<RoleGrant[]>;
  grantedRoles(user: string): Promise<Role[]>;
  /** Users granted at least one of `roles`. */
  grantHolders(roles: readonly Role[]): Promise<string[]>;
  adminEvents(filter?: { limit?: number }): Promise<AdminEvent[]>;
}

/** `glv_<12 hex id>_<43 base64url characters of 32 random bytes>`. */
const TOKEN_FORMAT = /^glv_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;
export const TOKEN_PREFIX = 'glv_';
/** last_used_at is written at most this often per token. */
const LAST_USED_RESOLUTION_MS = 60_000;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
/** Compared against when the id is unknown, so every miss costs the same hash comparison. */
const NO_HASH = sha256('golive: no such token');

const isRole = (value: string): value is Role => (ROLES as readonly string[]).includes(value);

interface TokenRow {
  id: string;
  user_name: string;
  created_at: Date;
  created_by: string;
  expires_at: Date | null;
  revoked_at: Date | null;
  revoked_by: string | null;
  last_used_at: Date | null;
}

const TOKEN_COLUMNS = 'id, user_name, created_at, created_by, expires_at, revoked_at, revoked_by, last_used_at';

const tokenInfo = (row: TokenRow): TokenInfo => ({
  id: row.id,
  user: row.user_name,
  createdAt: row.created_at.toISOString(),
  createdBy: row.created_by,
  expiresAt: row.expires_at?.toISOString(),
  revokedAt: row.revoked_at?.toISOString(),
  revokedBy: row.revoked_by ?? undefined,
  lastUsedAt: row.last_used_at?.toISOString(),
});

interface GrantRow {
  user_name: string;
  role: string;
  granted_by: string;
  granted_at: Date;
}

/** Grants of roles golive no longer knows are left out: they grant nothing. */
const grants = (rows: GrantRow[]): RoleGrant[] =>
  rows.flatMap((row) => (isRole(row.role) ? [{ user: row.user_name, role: row.role, grantedBy: row.granted_by, grantedAt: row.granted_at.toISOString() }] : []));

function recordAdminEvent(client: pg.PoolClient, actor: Actor, action: string, subject: string, detail: Record<string, unknown>): Promise<unknown> {
  return client.query('INSERT INTO admin_events (actor, channel, action, subject, detail) VALUES ($1, $2, $3, $4, $5)', [
    actor.name, actor.channel, action, subject, JSON.stringify(detail),
  ]);
}

export function createPgIdentityStore(pool: pg.Pool): IdentityStore {
  return {
    async createToken({ user, expiresAt }, actor) {
      const id = randomBytes(6).toString('hex');
      const token = `${TOKEN_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
      await inTransaction(pool, async (client) => {
        await client.query('INSERT INTO api_tokens (id, user_name, token_hash, created_by, expires_at) VALUES ($1, $2, $3, $4, $5)', [
          id, user, sha256(token), actor.name, expiresAt ?? null,
        ]);
        await recordAdminEvent(client, actor, 'token.created', id, { user, expiresAt: expiresAt?.toISOString() ?? null });
      });
      return { token, id, user, expiresAt: expiresAt?.toISOString() };
    },

    async verifyToken(token, now = new Date()) {
      const id = TOKEN_FORMAT.exec(token)?.[1];
      if (!id) return undefined;
      const { rows } = await pool.query<TokenRow & { token_hash: string }>(`SELECT ${TOKEN_COLUMNS}, token_hash FROM api_tokens WHERE id = $1`, [id]);
      const row = rows[0];
      const matches = timingSafeEqual(Buffer.from(sha256(token), 'hex'), Buffer.from(row?.token_hash ?? NO_HASH, 'hex'));
      if (!row || !matches || row.revoked_at || (row.expires_at && row.expires_at <= now)) return undefined;
      if (!row.last_used_at || now.getTime() - row.last_used_at.getTime() >= LAST_USED_RESOLUTION_MS) {
        await pool.query(
          `UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $2::timestamptz - interval '1 minute')`,
          [id, now],
        );
      }
      return { user: row.user_name, tokenId: id };
    },

    async listTokens() {
      const { rows } = await pool.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at DESC, id`);
      return rows.map(tokenInfo);
    },

    revokeToken: (id, actor) =>
      inTransaction(pool, async (client) => {
        const revoked = await client.query<TokenRow>(
          `UPDATE api_tokens SET revoked_at = now(), revoked_by = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING ${TOKEN_COLUMNS}`,
          [id, actor.name],
        );
        const row = revoked.rows[0];
        if (row) {
          await recordAdminEvent(client, actor, 'token.revoked', id, { user: row.user_name });
          return { token: tokenInfo(row), changed: true };
        }
        const existing = await client.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE id = $1`, [id]);
        return existing.rows[0] ? { token: tokenInfo(existing.rows[0]), changed: false } : undefined;
      }),

    grantRole: (user, role, actor) =>
      inTransaction(pool, async (client) => {
        const inserted = await client.query<GrantRow>(
          `INSERT INTO role_grants (user_name, role, granted_by) VALUES ($1, $2, $3) ON CONFLICT (user_name, role) DO NOTHING
           RETURNING user_name, role, granted_by, granted_at`,
          [user, role, actor.name],
        );
        if (inserted.rows.length > 0) await recordAdminEvent(client, actor, 'role.granted', user, { role });
        const rows = inserted.rows.length > 0
          ? inserted.rows
          : (await client.query<GrantRow>('SELECT user_name, role, granted_by, granted_at FROM role_grants WHERE user_name = $1 AND role = $2', [user, role])).rows;
        const [grant] = grants(rows);
        if (!grant) throw new Error(`grant of ${role} to ${user} vanished while it was written`);
        return { grant, changed: inserted.rows.length > 0 };
      }),

    revokeRole: (user, role, actor) =>
      inTransaction(pool, async (client) => {
        const deleted = await client.query('DELETE FROM role_grants WHERE user_name = $1 AND role = $2', [user, role]);
        if (deleted.rowCount !== 1) return false;
        await recordAdminEvent(client, actor, 'role.revoked', user, { role });
        return true;
      }),

    async listGrants() {
      const { rows } = await pool.query<GrantRow>('SELECT user_name, role, granted_by, granted_at FROM role_grants ORDER BY user_name, role');
      return grants(rows);
    },

    async grantedRoles(user) {
      const { rows } = await pool.query<GrantRow>('SELECT user_name, role, granted_by, granted_at FROM role_grants WHERE user_name = $1 ORDER BY role', [user]);
      return grants(rows).map((grant) => grant.role);
    },

    async grantHolders(roles) {
      const { rows } = await pool.query<{ user_name: string }>('SELECT DISTINCT user_name FROM role_grants WHERE role = ANY($1::text[]) ORDER BY user_name', [[...roles]]);
      return rows.map((row) => row.user_name);
    },

    async adminEvents(filter = {}) {
      const { rows } = await pool.query<{ id: string; at: Date; actor: string; channel: string; action: string; subject: string; detail: Record<string, unknown> }>(
        'SELECT id, at, actor, channel, action, subject, detail FROM admin_events ORDER BY id DESC LIMIT $1',
        [filter.limit ?? 100],
      );
      return rows.map((row) => ({ ...row, id: Number(row.id), at: row.at.toISOString() }));
    },
  };
}
