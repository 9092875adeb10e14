import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import type { Actor } from './identity.ts';
import { inTransaction } from './transaction.ts';

/**
 * Flag-read keys: what apps send to evaluate golive's flags over OFREP. A key reads the flags of
 * one environment and nothing else; it is never a person's API token, and golive keeps only its
 * sha256, the same way as API tokens (store/identity.ts).
 */

/** A key as golive lists it: never the secret, never its hash. */
export interface FlagKeyInfo {
  id: string;
  name: string;
  environment: string;
  createdBy: string;
  createdAt: string;
  revokedAt?: string;
}

/** The answer to creating a key: the only time its secret is shown. */
export interface CreatedFlagKey extends FlagKeyInfo {
  secret: string;
}

/** Who a verified secret is: the key's id, name and the environment whose flags it reads. */
export interface VerifiedFlagKey {
  id: string;
  name: string;
  environment: string;
}

export interface FlagKeyStore {
  createKey(input: { name: string; environment: string }, actor: Actor): Promise<CreatedFlagKey>;
  listKeys(): Promise<FlagKeyInfo[]>;
  /** Undefined when no key has this id; `changed` is false when it was already revoked. */
  revokeKey(id: string, actor: Actor): Promise<{ key: FlagKeyInfo; changed: boolean } | undefined>;
  /** The live key a secret belongs to; undefined for anything else (malformed, unknown, wrong secret, revoked). */
  verifyKey(secret: string): Promise<VerifiedFlagKey | undefined>;
}

/** `glf_<12 hex id>_<43 base64url characters of 32 random bytes>`: the prefix tells it from an API token (`glv_`). */
export const FLAG_KEY_PREFIX = 'glf_';
const KEY_FORMAT = /^glf_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
/** Compared against when the id is unknown, so every miss costs the same hash comparison. */
const NO_HASH = sha256('golive: no such flag key');

interface KeyRow {
  id: string;
  name: string;
  environment: string;
  created_by: string;
  created_at: Date;
  revoked_at: Date | null;
}

const KEY_COLUMNS = 'id, name, environment, created_by, created_at, revoked_at';

const keyInfo = (row: KeyRow): FlagKeyInfo => ({
  id: row.id,
  name: row.name,
  environment: row.environment,
  createdBy: row.created_by,
  createdAt: row.created_at.toISOString(),
  revokedAt: row.revoked_at?.toISOString(),
});

/** Flag keys are credentials: creating and revoking one is written to golive's admin events, like API tokens. */
function recordAdminEvent(client: pg.PoolClient, actor: Actor, action: string, subject: string, detail: Record<string, unknown>): Promise<unknown> {
  return client.query('INSERT INTO admin_events (actor, channel, action, subject, detail) VALUES ($1, $2, $3, $4, $5)', [
    actor.name, actor.channel, action, subject, JSON.stringify(detail),
  ]);
}

export function createFlagKeyStore(pool: pg.Pool): FlagKeyStore {
  return {
    async createKey({ name, environment }, actor) {
      const id = randomBytes(6).toString('hex');
      const secret = `${FLAG_KEY_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
      const row = await inTransaction(pool, async (client) => {
        const { rows } = await client.query<KeyRow>(
          `INSERT INTO flag_keys (id, name, environment, key_hash, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING ${KEY_COLUMNS}`,
          [id, name, environment, sha256(secret), actor.name],
        );
        await recordAdminEvent(client, actor, 'flag-key.created', id, { name, environment });
        return rows[0];
      });
      if (!row) throw new Error(`flag key ${id} vanished while it was written`);
      return { ...keyInfo(row), secret };
    },

    async listKeys() {
      const { rows } = await pool.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM flag_keys ORDER BY created_at DESC, id`);
      return rows.map(keyInfo);
    },

    revokeKey: (id, actor) =>
      inTransaction(pool, async (client) => {
        const revoked = await client.query<KeyRow>(`UPDATE flag_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING ${KEY_COLUMNS}`, [id]);
        const row = revoked.rows[0];
        if (row) {
          await recordAdminEvent(client, actor, 'flag-key.revoked', id, { name: row.name, environment: row.environment });
          return { key: keyInfo(row), changed: true };
        }
        const existing = await client.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM flag_keys WHERE id = $1`, [id]);
        return existing.rows[0] ? { key: keyInfo(existing.rows[0]), changed: false } : undefined;
      }),

    async verifyKey(secret) {
      const id = KEY_FORMAT.exec(secret)?.[1];
      if (!id) return undefined;
      const { rows } = await pool.query<KeyRow & { key_hash: string }>(`SELECT ${KEY_COLUMNS}, key_hash FROM flag_keys WHERE id = $1`, [id]);
      const row = rows[0];
      const matches = timingSafeEqual(Buffer.from(sha256(secret), 'hex'), Buffer.from(row?.key_hash ?? NO_HASH, 'hex'));
      if (!row || !matches || row.revoked_at) return undefined;
      return { id: row.id, name: row.name, environment: row.environment };
    },
  };
}
