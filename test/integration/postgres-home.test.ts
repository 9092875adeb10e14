import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, expect, inject, it } from 'vitest';
import { loadConfig } from '../../config/env.ts';
import { startEmbeddedStack } from '../../runtime/embedded.ts';
import { isRoot, RELOCATION_ROOT } from '../../stack/pg-data-dir.ts';

const made: string[] = [];
afterAll(async () => {
  for (const folder of made.reverse()) await rm(folder, { recursive: true, force: true });
});

async function answers(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one ?? 0;
  } finally {
    await client.end();
  }
}

/** A clone in /root or in `mktemp -d` (mode 700): as root, initdb runs as postgres, which cannot enter it. */
it.runIf(isRoot())('starts the embedded Postgres when GOLIVE_HOME is in a folder the postgres user cannot enter, and says where it lives', async () => {
  const closed = await mkdtemp(join(tmpdir(), 'golive-closed-'));
  made.push(closed);
  expect((await stat(closed)).mode & 0o777).toBe(0o700);
  const home = join(closed, 'clone', '.golive');
  const config = loadConfig({ GOLIVE_HOME: home, TEMPORAL_ADDRESS: inject('temporalAddress') });

  const first = await startEmbeddedStack(config);
  const where = (await readFile(join(home, 'pg.location'), 'utf8')).trim();
  made.push(where);
  try {
    expect(dirname(where)).toBe(RELOCATION_ROOT);
    expect(first.notes).toContain(`Postgres data in ${where} because the postgres user cannot enter ${closed} (recorded in ${join(home, 'pg.location')})`);
    expect(await answers(first.databaseUrl)).toBe(1);
    expect(existsSync(join(home, 'pg'))).toBe(false);
  } finally {
    await first.stop();
  }

  const second = await startEmbeddedStack(config);
  try {
    expect(second.notes).toContain(`Postgres data in ${where} because the postgres user cannot enter ${closed} (recorded in ${join(home, 'pg.location')})`);
    expect(await answers(second.databaseUrl)).toBe(1);
  } finally {
    await second.stop();
  }
  expect((await stat(closed)).mode & 0o777).toBe(0o700);
});
