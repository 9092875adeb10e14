import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import pg from 'pg';
import { ensureDatabase } from '../../stack/postgres.ts';

/** A fresh database on the test run's Postgres cluster, for one test file. */
export async function createTestDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix.replace(/[^a-z0-9_]/g, '_')}_${randomUUID().slice(0, 8)}`;
  const adminUrl = inject('postgresUrl');
  const url = await ensureDatabase(adminUrl, name);
  return {
    url,
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** A unique id for workflow ids and task queues, so tests never share them. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
