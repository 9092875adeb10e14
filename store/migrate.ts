import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type pg from 'pg';

// From this file and from the compiled bundle in dist/ alike (both one folder below the project root).
const MIGRATIONS_DIR = fileURLToPath(new URL('../store/migrations/', import.meta.url));
/** Any constant; serialises migrations when several golive processes start at once. */
const MIGRATION_LOCK = 7_240_611;

/** The migrations this golive ships, in the order they apply. */
export async function shippedMigrations(): Promise<string[]> {
  return (await readdir(MIGRATIONS_DIR)).filter((name) => name.endsWith('.sql')).sort();
}

/** The newest migration applied to a database, or undefined when golive never migrated it. */
export async function appliedSchema(pool: pg.Pool): Promise<string | undefined> {
  const exists = await pool.query<{ found: string | null }>("SELECT to_regclass('schema_migrations') AS found");
  if (!exists.rows[0]?.found) return undefined;
  const { rows } = await pool.query<{ version: string }>('SELECT max(version) AS version FROM schema_migrations');
  return rows[0]?.version ?? undefined;
}

/** Applies the SQL files in store/migrations in name order, each once, each in a transaction. */
export async function migrate(pool: pg.Pool): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const { rows } = await client.query<{ version: string }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((row) => row.version));
    const files = await shippedMigrations();
    const pending = files.filter((name) => !applied.has(name));
    for (const name of pending) {
      await client.query('BEGIN');
      try {
        await client.query(await readFile(join(MIGRATIONS_DIR, name), 'utf8'));
        await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [name]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${name} failed: ${(error as Error).message}`);
      }
    }
    return pending;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    client.release();
  }
}
