import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createBackup } from '../../activities/backup/actions.ts';
import { restoreBackup } from '../../activities/backup/restore.ts';
import { parseInput } from '../../activities/call.ts';
import { verify } from '../../activities/drill/verify.ts';
import type { ActionName } from '../../definitions/actions.ts';
import type { Target } from '../../definitions/targets.ts';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import { actionRequest } from '../support/actions.ts';
import { createTestDatabase, uniqueId } from '../support/db.ts';
import { runSql } from '../support/sql.ts';

const deps = { env: {}, pgBin: requireTool(loadToolchain({ pgBin: process.env.GOLIVE_PG_BIN }), 'pgBin') };
let big: { url: string; drop(): Promise<void> };
let folder: string;
const copy = uniqueId('shop_drill').replace('-', '_');

beforeAll(async () => {
  big = await createTestDatabase('backup_big');
  folder = await mkdtemp(join(tmpdir(), 'golive-scale-'));
  await runSql(big.url, `CREATE TABLE orders (id bigint PRIMARY KEY, customer int NOT NULL, total numeric(12,2), placed timestamptz NOT NULL, note text);
    CREATE INDEX orders_customer ON orders (customer);
    CREATE TABLE order_lines (order_id bigint REFERENCES orders, line int, sku text, PRIMARY KEY (order_id, line));
    INSERT INTO orders SELECT g, g % 5000, g * 0.5, '2024-01-01T00:00:00Z'::timestamptz + g * interval '1 minute', repeat('x', g % 40) FROM generate_series(1, 120000) g;
    INSERT INTO order_lines SELECT g, l, 'sku-' || (g * l) FROM generate_series(1, 20000) g, generate_series(1, 3) l;`);
});

afterAll(async () => {
  await runSql(inject('postgresUrl'), `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(copy)} WITH (FORCE)`);
  await big?.drop();
  await rm(folder, { recursive: true, force: true });
});

function call<A extends ActionName>(action: A, input: Record<string, unknown>, target: Target) {
  const request = actionRequest(action, input, { target: { name: 'db', spec: target }, targets: { vault: { type: 'filesystem', path: folder } } });
  return parseInput(action, request, deps.env);
}

it('backs up, restores and verifies 180,000 rows: every row count and sample', async () => {
  const source: Target = { type: 'postgres', url: big.url };
  const server: Target = { type: 'postgres', url: inject('postgresUrl') };
  const taken = await createBackup(deps, call('backup.create', { store: 'vault', service: 'shop', backupId: 'big-1', sampleRows: 1000 }, source));
  expect(taken).toMatchObject({ tables: 2, rows: 180_000 });
  const input = { store: 'vault', service: 'shop', backupId: 'big-1', database: copy };
  expect(await restoreBackup(deps, call('backup.restore', input, server))).toEqual({ database: copy, backupId: 'big-1', tables: 2 });
  const verified = await verify(call('drill.verify', input, server));
  expect(verified).toEqual({ backupId: 'big-1', tables: 2, rows: 180_000, sampledRows: 2000, newestCommit: taken.snapshotAt, newestHeartbeat: null, rpoSource: 'snapshot', snapshotAt: taken.snapshotAt });
});
