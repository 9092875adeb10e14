import type pg from 'pg';
import type { FlagChange, FlagChangeResult, FlagProvider, FlagState } from '../activities/flags/provider.ts';
import { createFlagKeyStore, type FlagKeyStore } from './flag-keys.ts';
import { inTransaction } from './transaction.ts';

export type { CreatedFlagKey, FlagKeyInfo, VerifiedFlagKey } from './flag-keys.ts';

/** One change of a flag: its percentage, its on/off switch, or both, with who made it and through what. */
export interface FlagUpdate {
  key: string;
  environment: string;
  /** Absent: the percentage stays; rounded to two decimals, as stored. A flag that does not exist is created only when a percentage is given. */
  percent?: number;
  /** Absent: stays (a new flag is enabled). Off: every evaluation answers false, whatever the percentage. */
  enabled?: boolean;
  actor: string;
  channel?: string;
  runId?: string;
  /** The same on every retry of one change: a retry answers with the first attempt's from → to and changes nothing. */
  idempotencyKey?: string;
  comment?: string;
}

export interface FlagSetting {
  percent: number;
  enabled: boolean;
}

export interface FlagUpdateResult {
  key: string;
  environment: string;
  /** Null: the flag did not exist and this change created it. */
  from: FlagSetting | null;
  to: FlagSetting;
  changed: boolean;
}

/** One row of a flag's audit, as `golive flags get` shows it. */
export interface FlagChangeRecord {
  id: number;
  key: string;
  environment: string;
  actor: string;
  channel?: string;
  runId?: string;
  from: { percent?: number; enabled?: boolean };
  to: { percent?: number; enabled?: boolean };
  comment?: string;
  at: string;
}

/** golive's built-in flags in Postgres: state, every change with its audit, and the keys apps read them with. */
export interface FlagStore extends FlagProvider, FlagKeyStore {
  /** Every flag, or those of one environment, by environment then key. */
  list(environment?: string): Promise<FlagState[]>;
  get(key: string, environment: string): Promise<FlagState | undefined>;
  /** The flag's newest changes first. */
  changes(key: string, environment: string, limit?: number): Promise<FlagChangeRecord[]>;
  /** FlagProvider.setRollout: sets the percentage, creating the flag when needed; retry-safe by idempotencyKey. */
  set(change: FlagChange): Promise<FlagChangeResult>;
  /** Switches a flag on or off; undefined when the flag does not exist (nothing is created). */
  setEnabled(change: Omit<FlagUpdate, 'percent'> & { enabled: boolean }): Promise<FlagUpdateResult | undefined>;
  /** Percentage and switch in one change and one audit row; undefined when the flag does not exist and no percentage is given. */
  update(change: FlagUpdate): Promise<FlagUpdateResult | undefined>;
}

interface FlagRow {
  key: string;
  environment: string;
  enabled: boolean;
  percent: string;
  updated_at: Date;
  updated_by: string | null;
}

interface ChangeRow {
  id: string;
  key: string;
  environment: string;
  actor: string;
  channel: string | null;
  run_id: string | null;
  from_percent: string | null;
  to_percent: string | null;
  from_enabled: boolean | null;
  to_enabled: boolean | null;
  comment: string | null;
  at: Date;
}

export const FLAG_COLUMNS = 'key, environment, enabled, percent, updated_at, updated_by';
const CHANGE_COLUMNS = 'id, key, environment, actor, channel, run_id, from_percent, to_percent, from_enabled, to_enabled, comment, at';
const UNIQUE_VIOLATION = '23505';

/** pg returns numeric as text: the percentage as a number. */
export const flagState = (row: FlagRow): FlagState => ({
  key: row.key,
  environment: row.environment,
  enabled: row.enabled,
  percent: Number(row.percent),
  updatedAt: row.updated_at.toISOString(),
  updatedBy: row.updated_by ?? undefined,
});

const optionalNumber = (value: string | null) => (value === null ? undefined : Number(value));

const changeRecord = (row: ChangeRow): FlagChangeRecord => ({
  id: Number(row.id),
  key: row.key,
  environment: row.environment,
  actor: row.actor,
  channel: row.channel ?? undefined,
  runId: row.run_id ?? undefined,
  from: { percent: optionalNumber(row.from_percent), enabled: row.from_enabled ?? undefined },
  to: { percent: optionalNumber(row.to_percent), enabled: row.to_enabled ?? undefined },
  comment: row.comment ?? undefined,
  at: row.at.toISOString(),
});

/** The answer a recorded change gave, for a retry of it: its own from → to, whatever the flag says now. */
function recordedResult(row: ChangeRow): FlagUpdateResult {
  const to = { percent: Number(row.to_percent), enabled: row.to_enabled ?? true };
  const from = row.from_percent === null ? null : { percent: Number(row.from_percent), enabled: row.from_enabled ?? to.enabled };
  return { key: row.key, environment: row.environment, from, to, changed: true };
}

/** Another transaction created the flag between this one's read and its insert: run the change again. */
class FlagCreatedMeanwhile extends Error {}

const isRace = (error: unknown) =>
  error instanceof FlagCreatedMeanwhile || (typeof error === 'object' && error !== null && 'code' in error && error.code === UNIQUE_VIOLATION);

async function recordedChange(client: pg.PoolClient, idempotencyKey: string): Promise<FlagUpdateResult | undefined> {
  const { rows } = await client.query<ChangeRow>(`SELECT ${CHANGE_COLUMNS} FROM flag_changes WHERE idempotency_key = $1`, [idempotencyKey]);
  return rows[0] && recordedResult(rows[0]);
}

/** Writes the flag's new setting: an update of the locked row, or an insert that fails when another one got there first. */
async function writeFlag(client: pg.PoolClient, change: FlagUpdate, existed: boolean, to: FlagSetting): Promise<void> {
  const values = [change.key, change.environment, to.enabled, to.percent, change.actor];
  if (existed) {
    await client.query('UPDATE flags SET enabled = $3, percent = $4, updated_at = now(), updated_by = $5 WHERE key = $1 AND environment = $2', values);
    return;
  }
  const inserted = await client.query(
    'INSERT INTO flags (key, environment, enabled, percent, updated_by) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key, environment) DO NOTHING',
    values,
  );
  if (inserted.rowCount !== 1) throw new FlagCreatedMeanwhile();
}

/** One change in one transaction: the flag's row locked, updated, and its audit row written with from → to. */
async function applyUpdate(client: pg.PoolClient, change: FlagUpdate): Promise<FlagUpdateResult | undefined> {
  if (change.idempotencyKey) {
    const recorded = await recordedChange(client, change.idempotencyKey);
    if (recorded) return recorded;
  }
  const { rows } = await client.query<FlagRow>(`SELECT ${FLAG_COLUMNS} FROM flags WHERE key = $1 AND environment = $2 FOR UPDATE`, [change.key, change.environment]);
  const current = rows[0] && flagState(rows[0]);
  if (!current && change.percent === undefined) return undefined;
  const from = current ? { percent: current.percent, enabled: current.enabled } : null;
  const percent = change.percent === undefined ? undefined : Math.round(change.percent * 100) / 100;
  const to = { percent: percent ?? from?.percent ?? 0, enabled: change.enabled ?? from?.enabled ?? true };
  const base = { key: change.key, environment: change.environment, from, to };
  if (from && from.percent === to.percent && from.enabled === to.enabled) return { ...base, changed: false };
  await writeFlag(client, change, current !== undefined, to);
  await client.query(
    `INSERT INTO flag_changes (key, environment, actor, channel, run_id, idempotency_key, from_percent, to_percent, from_enabled, to_enabled, comment)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [change.key, change.environment, change.actor, change.channel ?? null, change.runId ?? null, change.idempotencyKey ?? null,
      from?.percent ?? null, to.percent, from?.enabled ?? null, to.enabled, change.comment ?? null],
  );
  return { ...base, changed: true };
}

/**
 * Applies a change, once more if it lost a race: two first changes of one new flag, or two
 * attempts with one idempotency key at once. The second run sees the winner's row.
 */
async function update(pool: pg.Pool, change: FlagUpdate): Promise<FlagUpdateResult | undefined> {
  try {
    return await inTransaction(pool, (client) => applyUpdate(client, change));
  } catch (error) {
    if (!isRace(error)) throw error;
    return inTransaction(pool, (client) => applyUpdate(client, change));
  }
}

export function createFlagStore(pool: pg.Pool): FlagStore {
  const get = async (key: string, environment: string) => {
    const { rows } = await pool.query<FlagRow>(`SELECT ${FLAG_COLUMNS} FROM flags WHERE key = $1 AND environment = $2`, [key, environment]);
    return rows[0] && flagState(rows[0]);
  };
  const set = async (change: FlagChange): Promise<FlagChangeResult> => {
    const result = await update(pool, change);
    if (!result) throw new Error(`setting flag ${change.key} in ${change.environment} to ${change.percent}% answered nothing`);
    return { key: result.key, environment: result.environment, from: result.from?.percent ?? null, to: result.to.percent, changed: result.changed };
  };
  return {
    ...createFlagKeyStore(pool),
    async list(environment) {
      const { rows } = await pool.query<FlagRow>(
        `SELECT ${FLAG_COLUMNS} FROM flags WHERE $1::text IS NULL OR environment = $1 ORDER BY environment, key`,
        [environment ?? null],
      );
      return rows.map(flagState);
    },
    get,
    read: get,
    async changes(key, environment, limit = 20) {
      const { rows } = await pool.query<ChangeRow>(
        `SELECT ${CHANGE_COLUMNS} FROM flag_changes WHERE key = $1 AND environment = $2 ORDER BY at DESC, id DESC LIMIT $3`,
        [key, environment, limit],
      );
      return rows.map(changeRecord);
    },
    set,
    setRollout: set,
    setEnabled: (change) => update(pool, change),
    update: (change) => update(pool, change),
  };
}
