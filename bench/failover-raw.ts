/**
 * The failover of the stage by hand, with no golive: the same commands golive's runbook steps
 * run, one after the other, as a person at a terminal with a script would. Each step connects
 * afresh, as each golive action does.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { STAGE_UPSTREAM, STAGE_UPSTREAM_FILE, type FailoverStage } from '../runtime/failover-stage.ts';

const run = promisify(execFile);

/** What postgres.replication-lag asks a standby whose primary does not answer. */
const LAG_SQL = `SELECT pg_is_in_recovery() AS recovery,
  pg_wal_lsn_diff(coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), pg_last_wal_replay_lsn())::float8 AS bytes,
  EXTRACT(EPOCH FROM now() - coalesce((SELECT last_msg_receipt_time FROM pg_stat_wal_receiver), pg_last_xact_replay_timestamp()))::float8 AS seconds`;

/** The actions' defaults: the primary's connect timeout, the confirm's pause and streak, wait-healthy's interval. */
const PRIMARY_TIMEOUT_MS = 3_000;
const CONFIRM_PAUSE_MS = 20;
const CONFIRM_CONSECUTIVE = 5;
const HEALTH_EVERY_MS = 200;
const GIVE_UP_MS = 120_000;

async function withClient<T>(url: string, timeoutMs: number, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** A connect attempt to the old primary: it must not answer (it was killed). */
async function primaryAnswers(url: string): Promise<boolean> {
  return withClient(url, PRIMARY_TIMEOUT_MS, async () => true).catch(() => false);
}

/** The exposure check: the standby is in recovery, the primary does not answer, the standby's lag alone. */
async function checkLag(stage: FailoverStage): Promise<void> {
  await withClient(stage.standbyUrl, 10_000, async (client) => {
    const { rows } = await client.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery');
    if (rows[0]?.recovery !== true) throw new Error('by hand: the standby is not in recovery');
    if (await primaryAnswers(stage.primaryUrl)) throw new Error('by hand: the killed primary still answers');
    await client.query(LAG_SQL);
  });
}

async function nginx(nginxBin: string, prefix: string, args: string[]): Promise<void> {
  await run(nginxBin, ['-p', prefix, '-c', 'conf/nginx.conf', '-e', 'stderr', ...args], { timeout: 30_000 });
}

async function get(url: string): Promise<{ status: number; body: string; upstream: string | null } | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    return { status: response.status, body: await response.text(), upstream: response.headers.get('x-upstream-addr') };
  } catch {
    return undefined;
  }
}

/**
 * Fails the stage over by hand right after its primary was killed and returns when the first
 * healthy answer from site-b arrived through the edge (ms since the epoch): the lag check, a
 * connect attempt to the old primary, the lag check again, `pg_promote(true, 60)`, the upstream
 * file rewritten, `nginx -t` and `nginx -s reload`, five answers in a row from site-b through the
 * edge, then /healthz every 200 ms until it answers 200 from site-b.
 */
export async function failOverByHand(stage: FailoverStage, nginxBin: string): Promise<number> {
  const deadline = Date.now() + GIVE_UP_MS;
  await checkLag(stage);
  if (await primaryAnswers(stage.primaryUrl)) throw new Error('by hand: the killed primary still answers');
  await checkLag(stage);
  await withClient(stage.standbyUrl, 10_000, async (client) => {
    const { rows } = await client.query<{ promoted: boolean }>('SELECT pg_promote(true, 60) AS promoted');
    if (rows[0]?.promoted !== true) throw new Error('by hand: pg_promote did not promote the standby within 60s');
  });
  await writeFile(join(stage.nginxPrefix, STAGE_UPSTREAM_FILE), `upstream ${STAGE_UPSTREAM} {\n    server ${stage.sites.b};\n}\n`);
  await nginx(nginxBin, stage.nginxPrefix, ['-t', '-q']);
  await nginx(nginxBin, stage.nginxPrefix, ['-s', 'reload']);
  const url = `${stage.edgeUrl}/healthz`;
  for (let streak = 0; streak < CONFIRM_CONSECUTIVE;) {
    if (Date.now() > deadline) throw new Error(`by hand: no ${CONFIRM_CONSECUTIVE} answers in a row from site-b through the edge`);
    streak = (await get(url))?.upstream === stage.sites.b ? streak + 1 : 0;
    if (streak < CONFIRM_CONSECUTIVE) await delay(CONFIRM_PAUSE_MS);
  }
  for (let next = Date.now(); next < deadline; next += HEALTH_EVERY_MS) {
    await delay(Math.max(0, next - Date.now()));
    const answer = await get(url);
    if (answer?.status === 200 && answer.body.includes('site-b')) return Date.now();
  }
  throw new Error('by hand: site-b never answered healthy through the edge');
}
