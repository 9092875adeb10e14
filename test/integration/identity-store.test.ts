import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoleDirectory } from '../../runtime/roles.ts';
import { createPgIdentityStore, type Actor, type IdentityStore } from '../../store/identity.ts';
import { migrate } from '../../store/migrate.ts';
import { createTestDatabase, uniqueId } from '../support/db.ts';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
let identity: IdentityStore;
const operator: Actor = { name: 'olga', channel: 'cli' };
const HOUR = 3_600_000;

beforeAll(async () => {
  database = await createTestDatabase('identity_store');
  pool = new pg.Pool({ connectionString: database.url });
  await migrate(pool);
  identity = createPgIdentityStore(pool);
});

afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

const tableText = async (table: 'api_tokens' | 'admin_events') => (await pool.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM ${table} t`)).rows.map((entry) => entry.row).join('\n');
const eventsAbout = async (subject: string) => (await identity.adminEvents({ limit: 1_000 })).filter((event) => event.subject === subject).reverse();
const lastUsed = async (id: string) => (await identity.listTokens()).find((token) => token.id === id)?.lastUsedAt;

describe('API tokens', () => {
  it('creates a token shown once, keeps only its sha256, and verifies it to its user', async () => {
    const user = uniqueId('alice');
    const created = await identity.createToken({ user }, operator);

    expect(created.token).toMatch(/^glv_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(created.token.split('_')[1]).toBe(created.id);
    expect(created).toMatchObject({ user, expiresAt: undefined });
    expect(await identity.verifyToken(created.token)).toEqual({ user, tokenId: created.id });

    const { rows } = await pool.query<{ token_hash: string }>('SELECT token_hash FROM api_tokens WHERE id = $1', [created.id]);
    expect(rows[0]?.token_hash).toBe(createHash('sha256').update(created.token).digest('hex'));
    const secret = created.token.slice(`glv_${created.id}_`.length);
    for (const table of ['api_tokens', 'admin_events'] as const) {
      const text = await tableText(table);
      expect(text).not.toContain(secret);
      expect(text).not.toContain(created.token);
    }
    expect(JSON.stringify(await identity.listTokens())).not.toContain(secret);
  });

  it('refuses a forged secret for a real id, a malformed token and an unknown id alike', async () => {
    const created = await identity.createToken({ user: uniqueId('bob') }, operator);
    const forged = `glv_${created.id}_${'A'.repeat(43)}`;
    const unknown = `glv_${'0'.repeat(12)}_${created.token.slice(-43)}`;
    for (const candidate of [forged, unknown, created.token.slice(0, -1), `${created.token}x`, 'glv_', '', created.id]) {
      expect(await identity.verifyToken(candidate)).toBeUndefined();
    }
    expect(await identity.verifyToken(created.token)).toBeDefined();
  });

  it('stops accepting a token when it expires', async () => {
    const now = new Date();
    const created = await identity.createToken({ user: uniqueId('carol'), expiresAt: new Date(now.getTime() + HOUR) }, operator);
    expect(created.expiresAt).toBe(new Date(now.getTime() + HOUR).toISOString());
    expect(await identity.verifyToken(created.token, now)).toBeDefined();
    expect(await identity.verifyToken(created.token, new Date(now.getTime() + HOUR))).toBeUndefined();
    expect(await identity.verifyToken(created.token, new Date(now.getTime() + 2 * HOUR))).toBeUndefined();
  });

  it('revokes a token at once, says so once, and records who did it', async () => {
    const user = uniqueId('dave');
    const created = await identity.createToken({ user }, operator);
    const revoker: Actor = { name: 'rita', channel: 'cli' };

    const first = await identity.revokeToken(created.id, revoker);
    expect(first).toMatchObject({ changed: true, token: { id: created.id, user, revokedBy: 'rita', revokedAt: expect.any(String) } });
    expect(await identity.verifyToken(created.token)).toBeUndefined();
    expect(await identity.revokeToken(created.id, operator)).toMatchObject({ changed: false, token: { revokedBy: 'rita', revokedAt: first?.token.revokedAt } });
    expect(await identity.revokeToken('000000000000', operator)).toBeUndefined();

    expect((await eventsAbout(created.id)).map(({ action, actor, channel, detail }) => ({ action, actor, channel, detail }))).toEqual([
      { action: 'token.created', actor: 'olga', channel: 'cli', detail: { user, expiresAt: null } },
      { action: 'token.revoked', actor: 'rita', channel: 'cli', detail: { user } },
    ]);
  });

  it('lists tokens newest first with their state, never a secret or hash', async () => {
    const user = uniqueId('erin');
    const kept = await identity.createToken({ user, expiresAt: new Date(Date.now() + HOUR) }, operator);
    const dropped = await identity.createToken({ user }, operator);
    await identity.revokeToken(dropped.id, operator);

    const listed = (await identity.listTokens()).filter((token) => token.user === user);
    expect(listed.map((token) => token.id)).toEqual([dropped.id, kept.id]);
    expect(listed[0]).toMatchObject({ createdBy: 'olga', revokedBy: 'olga', expiresAt: undefined });
    expect(listed[1]).toMatchObject({ createdBy: 'olga', revokedAt: undefined, expiresAt: kept.expiresAt });
    expect(Object.keys(listed[0] ?? {})).not.toContain('tokenHash');
  });

  it('writes last_used_at on first use and then at most once a minute', async () => {
    const created = await identity.createToken({ user: uniqueId('fay') }, operator);
    expect(await lastUsed(created.id)).toBeUndefined();
    const start = new Date(Date.now() + 1_000);

    await identity.verifyToken(created.token, start);
    expect(await lastUsed(created.id)).toBe(start.toISOString());
    await identity.verifyToken(created.token, new Date(start.getTime() + 30_000));
    expect(await lastUsed(created.id)).toBe(start.toISOString());
    const later = new Date(start.getTime() + 61_000);
    await identity.verifyToken(created.token, later);
    expect(await lastUsed(created.id)).toBe(later.toISOString());
  });
});

describe('role grants', () => {
  it('grants and revokes roles, each change recorded once with its actor', async () => {
    const user = uniqueId('ivan');
    const first = await identity.grantRole(user, 'approver', operator);
    expect(first).toMatchObject({ changed: true, grant: { user, role: 'approver', grantedBy: 'olga' } });
    expect(await identity.grantRole(user, 'approver', { name: 'rita', channel: 'cli' })).toMatchObject({ changed: false, grant: { grantedBy: 'olga' } });
    await identity.grantRole(user, 'incident-commander', operator);

    expect(await identity.grantedRoles(user)).toEqual(['approver', 'incident-commander']);
    expect(await identity.grantHolders(['incident-commander'])).toContain(user);
    expect((await identity.listGrants()).filter((grant) => grant.user === user).map((grant) => grant.role)).toEqual(['approver', 'incident-commander']);

    expect(await identity.revokeRole(user, 'approver', { name: 'rita', channel: 'cli' })).toBe(true);
    expect(await identity.revokeRole(user, 'approver', operator)).toBe(false);
    expect(await identity.grantedRoles(user)).toEqual(['incident-commander']);

    expect((await eventsAbout(user)).map(({ action, actor, detail }) => [action, actor, detail])).toEqual([
      ['role.granted', 'olga', { role: 'approver' }],
      ['role.granted', 'olga', { role: 'incident-commander' }],
      ['role.revoked', 'rita', { role: 'approver' }],
    ]);
  });

  it('changes nothing when its admin event cannot be written', async () => {
    const user = uniqueId('probe');
    await pool.query(`CREATE FUNCTION refuse_probe() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.subject LIKE 'probe-%' THEN RAISE EXCEPTION 'probe refused'; END IF; RETURN NEW; END; $$`);
    await pool.query('CREATE TRIGGER refuse_probe BEFORE INSERT ON admin_events FOR EACH ROW EXECUTE FUNCTION refuse_probe()');
    try {
      await expect(identity.grantRole(user, 'approver', operator)).rejects.toThrow('probe refused');
      expect(await identity.grantedRoles(user)).toEqual([]);
    } finally {
      await pool.query('DROP TRIGGER refuse_probe ON admin_events');
      await pool.query('DROP FUNCTION refuse_probe()');
    }
  });

  it('keeps admin events append-only', async () => {
    await identity.grantRole(uniqueId('gina'), 'approver', operator);
    await expect(pool.query("UPDATE admin_events SET actor = 'mallory'")).rejects.toThrow('admin_events is append-only: UPDATE is not allowed');
    await expect(pool.query('DELETE FROM admin_events')).rejects.toThrow('admin_events is append-only: DELETE is not allowed');
    await expect(pool.query('TRUNCATE admin_events')).rejects.toThrow('admin_events is append-only: TRUNCATE is not allowed');
  });
});

describe('role directory', () => {
  it('answers with GOLIVE_ROLES and database grants together', async () => {
    const [rita, ivan] = [uniqueId('rita'), uniqueId('ivan')];
    await identity.grantRole(ivan, 'incident-commander', operator);
    await identity.grantRole(rita, 'approver', operator);
    const directory = createRoleDirectory({ [rita]: ['release-manager'] }, identity);

    expect((await directory.rolesOf(rita)).sort()).toEqual(['approver', 'release-manager']);
    expect(await directory.rolesOf(ivan)).toEqual(['incident-commander']);
    expect(await directory.rolesOf(uniqueId('nobody'))).toEqual([]);
    const holders = await directory.holders(['release-manager', 'incident-commander']);
    expect(holders).toEqual(expect.arrayContaining([rita, ivan]));
  });

  it('answers from GOLIVE_ROLES alone, and logs it, when the database cannot be reached', async () => {
    const user = uniqueId('hank');
    await identity.grantRole(user, 'approver', operator);
    const closed = new pg.Pool({ connectionString: database.url });
    await closed.end();
    const warnings: string[] = [];
    const directory = createRoleDirectory({ [user]: ['release-manager'] }, createPgIdentityStore(closed), { warn: (_fields: object, message: string) => void warnings.push(message) });

    expect(await directory.rolesOf(user)).toEqual(['release-manager']);
    expect(await directory.holders(['approver'])).toEqual([]);
    expect(warnings).toEqual([
      "cannot read role grants from golive's database; answering from GOLIVE_ROLES alone",
      "cannot read role grants from golive's database; answering from GOLIVE_ROLES alone",
    ]);
  });
});
