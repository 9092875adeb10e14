import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installHeartbeat, runHeartbeat, type Beat } from '../../runtime/heartbeat.ts';
import { golive, startForeground } from '../support/cli.ts';
import { createTestDatabase } from '../support/db.ts';
import { until } from '../support/poll.ts';
import { runSql } from '../support/sql.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let database: { url: string; drop(): Promise<void> };
let scratch: string;

beforeAll(async () => {
  database = await createTestDatabase('heartbeat');
  scratch = await mkdtemp(join(tmpdir(), 'golive-heartbeat-'));
});

afterAll(async () => {
  await database?.drop();
  await rm(scratch, { recursive: true, force: true });
});

async function beatTimes(): Promise<number[]> {
  const { rows } = await runSql<{ beat_at: Date }>(database.url, 'SELECT beat_at FROM golive_heartbeat ORDER BY id');
  return rows.map((row) => row.beat_at.getTime());
}

/** Runs the writer until it has written `count` beats, then stops it. */
async function runUntil(count: number, options: { intervalMs?: number; onBeat?: (beat: Beat) => void; logger?: pino.Logger } = {}) {
  const controller = new AbortController();
  const result = await runHeartbeat(database.url, {
    ...options,
    signal: controller.signal,
    onBeat: (beat) => {
      options.onBeat?.(beat);
      if (beat.beats >= count) controller.abort();
    },
  });
  return result;
}

function captureLogs(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }), lines };
}

describe('heartbeat writer', () => {
  it('installs the table, and installing again leaves it as it is', async () => {
    expect(await installHeartbeat(database.url)).toEqual({ created: true });
    await runSql(database.url, `INSERT INTO golive_heartbeat (beat_at) VALUES ('2024-01-01T00:00:00Z')`);
    expect(await installHeartbeat(database.url)).toEqual({ created: false });
    expect(await beatTimes()).toEqual([Date.parse('2024-01-01T00:00:00Z')]);
    await runSql(database.url, 'TRUNCATE golive_heartbeat');
  });

  it('writes one row a second, on schedule, and stops when told', async () => {
    await runSql(database.url, 'TRUNCATE golive_heartbeat');
    const started = Date.now();
    expect(await runUntil(3)).toEqual({ beats: 3 });
    const elapsed = Date.now() - started;
    const times = await beatTimes();
    expect(times).toHaveLength(3);
    const gaps = times.slice(1).map((time, index) => time - (times[index] ?? 0));
    for (const gap of gaps) expect(Math.abs(gap - 1_000)).toBeLessThan(150);
    expect(elapsed).toBeGreaterThan(1_900);
    expect(elapsed).toBeLessThan(3_000);
  });

  it('deletes rows older than 7 days when it starts', async () => {
    await runSql(database.url, 'TRUNCATE golive_heartbeat');
    await runSql(database.url, `INSERT INTO golive_heartbeat (beat_at) VALUES (now() - interval '8 days'), (now() - interval '6 days')`);
    await runUntil(1);
    const { rows } = await runSql<{ days: number }>(database.url, `SELECT round(EXTRACT(EPOCH FROM now() - beat_at) / 86400)::int AS days FROM golive_heartbeat ORDER BY id`);
    expect(rows.map((row) => row.days)).toEqual([6, 0]);
  });

  it('reconnects after its connection is killed, with a warning, and keeps beating', async () => {
    await runSql(database.url, 'TRUNCATE golive_heartbeat');
    const { logger, lines } = captureLogs();
    const killed: number[] = [];
    const result = await runUntil(5, {
      intervalMs: 200,
      logger,
      onBeat: (beat) => {
        if (beat.beats !== 2) return;
        void runSql<{ pid: number }>(
          database.url,
          `SELECT pg_terminate_backend(pid), pid FROM pg_stat_activity WHERE application_name = 'golive heartbeat' AND datname = current_database()`,
        ).then(({ rows }) => killed.push(...rows.map((row) => row.pid)));
      },
    });
    expect(result).toEqual({ beats: 5 });
    expect(killed).toHaveLength(1);
    expect(await beatTimes()).toHaveLength(5);
    const logged = lines.map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(logged.find((entry) => entry.level === 40)?.msg).toMatch(/^heartbeat lost postgres:\/\/127\.0\.0\.1:\d+\/heartbeat_\w+: .*; reconnecting every beat$/);
    expect(logged.find((entry) => entry.level === 30)?.msg).toMatch(/^heartbeat reconnected to postgres:/);
    expect(lines.join('\n')).not.toContain('password');
  });

  it('stops with a clear error when the table was never installed', async () => {
    const bare = await createTestDatabase('heartbeat_bare');
    try {
      const running = runHeartbeat(bare.url, { signal: new AbortController().signal });
      await expect(running).rejects.toThrow(/^cannot write heartbeat to public\.golive_heartbeat on postgres:\/\/[^@]+: relation "public\.golive_heartbeat" does not exist$/);
    } finally {
      await bare.drop();
    }
  });
});

describe('golive heartbeat', () => {
  const runbookText = (url: string) => `apiVersion: golive/v1
kind: Runbook
metadata: {name: orders-heartbeat, service: orders}
spec:
  strategy: backup-restore
  objectives: {rpo: 24h, rto: 24h}
  targets:
    orders-db: {type: postgres, url: "${url}"}
    backups: {type: filesystem, path: ${scratch}/backups}
  backup: {source: orders-db, store: backups}
  steps:
    - {id: mark, action: noop}
`;

  it('installs on the runbook\'s backup source, reading its URL from the environment', async () => {
    const file = join(scratch, 'orders.yaml');
    await writeFile(file, runbookText('${HEARTBEAT_TEST_DB_URL}'));
    await runSql(database.url, 'DROP TABLE IF EXISTS golive_heartbeat');
    const env = { ...process.env, HEARTBEAT_TEST_DB_URL: database.url };
    const first = await golive(['heartbeat', 'install', file], { env });
    expect(first).toMatchObject({ code: 0, stdout: expect.stringMatching(/^created golive_heartbeat on orders-db \(postgres:\/\/127\.0\.0\.1:\d+\/heartbeat_\w+\)\n$/) });
    const again = await golive(['heartbeat', 'install', `${file}#orders-db`], { env });
    expect(again).toMatchObject({ code: 0, stdout: expect.stringContaining('golive_heartbeat already exists on orders-db') });
  });

  it('names the missing environment variable', async () => {
    const file = join(scratch, 'orders-unset.yaml');
    await writeFile(file, runbookText('${HEARTBEAT_UNSET_URL}'));
    const result = await golive(['heartbeat', 'install', file], { env: process.env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `golive: cannot resolve heartbeat target orders-db in ${file}: target orders-db: environment variable HEARTBEAT_UNSET_URL (used in url) is not set in this golive CLI's environment: export it and run the command again\n`,
    );
  });

  it("says the demo's variable is missing from the CLI's environment, not a worker's, and how to get it", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, GOLIVE_HOME: join(scratch, '.golive') };
    delete env.DEMO_ORDERS_URL;
    const result = await golive(['heartbeat', 'install', 'runbooks/orders-drill-demo.yaml'], { env, cwd: ROOT });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "environment variable DEMO_ORDERS_URL (used in url) is not set in this golive CLI's environment: export it, or run `golive dev`, which loads the demo's variables from GOLIVE_HOME/demo.env",
    );
    expect(result.stderr).not.toContain('worker');
  });

  it('runs until SIGTERM and says how many beats it wrote', async () => {
    await installHeartbeat(database.url);
    await runSql(database.url, 'TRUNCATE golive_heartbeat');
    const running = await startForeground(['heartbeat', 'run', database.url, '--interval', '500ms'], 'heartbeat running', { env: process.env });
    await until(async () => ((await beatTimes()).length >= 3 ? true : undefined), 10_000, 'three heartbeats were not written');
    const exited = new Promise<number | null>((resolve) => running.child.once('exit', resolve));
    running.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const written = (await beatTimes()).length;
    expect(running.output()).toMatch(/^heartbeat running: one row every 500ms into golive_heartbeat on postgres:\/\/127\.0\.0\.1:\d+\/heartbeat_\w+; Ctrl-C stops\n/);
    expect(running.output()).toContain(`heartbeat stopped after ${written} beats on postgres://`);
  });
});
