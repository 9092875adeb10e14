import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import type { Client } from '@temporalio/client';
import pg from 'pg';
import type { Logger } from 'pino';
import { startHeartbeat } from '../runtime/heartbeat.ts';
import { loadConfig, type Config } from '../config/env.ts';
import { formatMeasured } from '../definitions/duration.ts';
import { loadRunbook } from '../definitions/load.ts';
import { connectClient, createPool, type Endpoints } from '../runtime/connections.ts';
import { writeDemoEnv } from '../runtime/demo-env.ts';
import { startEmbeddedStack, type EmbeddedStack } from '../runtime/embedded.ts';
import { createFileLogger, installTemporalRuntime } from '../runtime/logger.ts';
import { readPosture } from '../runtime/posture.ts';
import { startProtectionRun, type ProtectionKind } from '../runtime/protection.ts';
import { waitForRun } from '../runtime/runs.ts';
import { UserError } from '../runtime/errors.ts';
import { startServices } from '../runtime/services.ts';
import { readLiveStack } from '../runtime/stack-file.ts';
import { ensureDatabase } from '../stack/postgres.ts';
import { createPgProtectionStore } from '../store/protection.ts';
import { createPgRunStore } from '../store/runs.ts';
import type { DrillRecord } from '../workflows/definitions.ts';
import { actingUser } from './context.ts';
import { demoNginx, tellTheFailover } from './demo-failover.ts';
import { tellTheGoLive } from './demo-golive.ts';
import { formatBackup, formatDrill } from './format-drill.ts';
import { formatPosture } from './posture.ts';

const RUNBOOK = 'runbooks/orders-drill-demo.yaml';
const RUNBOOKS_DIR = fileURLToPath(new URL('../runbooks', import.meta.url));
const TASK_QUEUE = 'golive-demo';
const ORDERS = 50_000;
/** Writes after the backup: what a disaster now would lose, and what the drill must measure. */
const WRITES_AFTER_BACKUP_MS = 5_000;

const say = (text: string) => console.log(`\n== ${text}`);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** `url` with its database name replaced by `name`. */
function databaseUrl(url: string, name: string): string {
  const changed = new URL(url);
  changed.pathname = `/${name}`;
  return changed.toString();
}

/**
 * A sample orders database next to golive's own, and the variables the demo runbooks name, set
 * here and kept in GOLIVE_HOME/demo.env for every later golive command and `golive dev`.
 */
async function prepareSampleData(stackDatabaseUrl: string, config: Config): Promise<string> {
  const admin = databaseUrl(stackDatabaseUrl, 'postgres');
  const ordersUrl = await ensureDatabase(admin, 'orders_demo');
  const orders = new pg.Client({ connectionString: ordersUrl });
  await orders.connect();
  try {
    await orders.query('CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, customer text NOT NULL, total_cents integer NOT NULL, placed_at timestamptz NOT NULL)');
    await orders.query(
      `INSERT INTO orders SELECT n, 'customer-' || (n % 997), (n * 37) % 100000, now() - n * interval '1 minute'
       FROM generate_series(1, $1) AS n ON CONFLICT (id) DO NOTHING`,
      [ORDERS],
    );
  } finally {
    await orders.end();
  }
  const variables = {
    DEMO_ORDERS_URL: ordersUrl,
    DEMO_RECOVERY_SERVER_URL: admin,
    DEMO_RECOVERED_URL: databaseUrl(admin, 'orders_recovery'),
    DEMO_BACKUP_DIR: resolve(config.home, 'backups'),
  };
  Object.assign(process.env, variables);
  console.log(`sample database orders_demo holds ${ORDERS}+ orders; the demo runbooks' variables are kept in ${await writeDemoEnv(config.home, variables)}`);
  return ordersUrl;
}

/** New orders arrive while the heartbeat beats: the writes a backup taken earlier does not hold. */
async function keepWriting(ordersUrl: string, ms: number): Promise<number> {
  const client = new pg.Client({ connectionString: ordersUrl });
  await client.connect();
  let written = 0;
  try {
    for (const until = Date.now() + ms; Date.now() < until; written += 1) {
      await client.query(`INSERT INTO orders SELECT coalesce(max(id), 0) + 1, 'customer-new', 4200, now() FROM orders`);
      await sleep(100);
    }
  } finally {
    await client.end();
  }
  return written;
}

async function newestHeartbeat(ordersUrl: string): Promise<Date> {
  const client = new pg.Client({ connectionString: ordersUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ newest: Date }>('SELECT max(beat_at) AS newest FROM golive_heartbeat');
    return rows[0]!.newest;
  } finally {
    await client.end();
  }
}

async function runAndWait(client: Client, kind: ProtectionKind, requestedBy: string): Promise<string> {
  const runbook = await loadRunbook(fileURLToPath(new URL(`../${RUNBOOK}`, import.meta.url)));
  const runId = await startProtectionRun(client, { kind, runbook, requestedBy, taskQueue: TASK_QUEUE, source: RUNBOOK });
  console.log(`started ${kind} ${runId}`);
  await client.workflow.getHandle(runId).result().catch(() => undefined);
  return runId;
}

async function tellTheStory(config: Config, endpoints: Endpoints, ordersUrl: string, logger: Logger, serverUrl: string): Promise<boolean> {
  const client = await connectClient(config, endpoints.temporalAddress);
  const pool = createPool(endpoints.databaseUrl);
  const runs = createPgRunStore(pool);
  const protection = createPgProtectionStore(pool);
  const requestedBy = actingUser(undefined, config);
  say('the heartbeat writer starts: one row a second in golive_heartbeat (`golive heartbeat run`)');
  const heartbeat = await startHeartbeat(ordersUrl, logger);
  try {
    await sleep(2_000);

    say(`backup: pg_dump of orders_demo streamed into ${process.env.DEMO_BACKUP_DIR} with a manifest (\`golive backup run ${RUNBOOK}\`)`);
    const beforeBackup = await newestHeartbeat(ordersUrl);
    const backupId = await runAndWait(client, 'backup', requestedBy);
    const backup = await waitForRun(client, runs, backupId);
    console.log(formatBackup(backup));
    const afterBackup = await newestHeartbeat(ordersUrl);

    say(`${WRITES_AFTER_BACKUP_MS / 1_000} seconds of new orders and heartbeats: the data a disaster now would lose`);
    console.log(`${await keepWriting(ordersUrl, WRITES_AFTER_BACKUP_MS)} new orders written after the backup`);

    say(`drill: restore the newest backup into a scratch database, verify it, measure RPO and RTO (\`golive drill run ${RUNBOOK}\`)`);
    const drillId = await runAndWait(client, 'drill', requestedBy);
    const drill = await protection.getDrill(drillId);
    if (!drill) throw new UserError(`drill ${drillId} was not recorded; see \`golive status ${drillId}\``);
    console.log(formatDrill(drill));
    explainRpo(drill, beforeBackup, afterBackup);

    say('posture: every protected service, its objectives, last backup and last drill (`golive posture`)');
    console.log(formatPosture(await readPosture(protection, RUNBOOKS_DIR)));
    const wentLive = await tellTheGoLive({ config, client, pool, store: runs, taskQueue: TASK_QUEUE, serverUrl, logger });
    const failedOver = await tellTheFailover({ config, client, pool, store: runs, taskQueue: TASK_QUEUE });
    return backup.status === 'succeeded' && drill.status === 'passed' && wentLive && failedOver;
  } finally {
    await heartbeat.stop();
    await client.connection.close();
    await pool.end();
  }
}

/**
 * Measured RPO next to the ground truth from the source's own heartbeat table: the backup holds
 * every beat written before it started and none written after it finished. Both sides are on
 * the source's clock (T_d as the drill read it there, when it could).
 */
function explainRpo(drill: DrillRecord, beforeBackup: Date, afterBackup: Date): void {
  const { rpoMs, rpoSource, rpoClock, declaredAtSource } = drill.measured;
  if (rpoMs === undefined) return;
  const declared = Date.parse(declaredAtSource ?? drill.declaredAt);
  const [least, most] = [formatMeasured(declared - afterBackup.getTime()), formatMeasured(declared - beforeBackup.getTime())];
  const truth = least === most
    ? `${least} (its newest beat was the same when the backup started and when it finished)`
    : `between ${least} and ${most} (its newest beat when the backup finished and when it started)`;
  const clock = rpoClock === undefined ? '' : ` on the ${rpoClock} clock`;
  console.log(`\nmeasured RPO ${formatMeasured(rpoMs)}${clock} from the newest ${rpoSource} in the restored copy; ground truth from the source's heartbeat table: ${truth}`);
}

/** The demo's last lines: how to get its stage back, with the heartbeat beating, and what to try on it. */
function nextSteps(liveDev: boolean): string {
  const first = liveDev
    ? 'next: restart golive dev (`golive dev --stop`, then `golive dev --detach`) so it takes up the demo\'s variables and heartbeat writer; then'
    : 'next: `golive dev --detach` brings back the stack, the demo\'s variables and its heartbeat writer; then';
  return [
    first,
    `  golive drill run ${RUNBOOK} --fresh-backup    # RPO measured from a running heartbeat`,
    `  golive backup list ${RUNBOOK}`,
    '  golive drill history --service orders-demo',
    '  golive rollout list --service orders-demo      # the go-live rollout the demo ran, rolled back by its guard',
    '  golive failover list --service orders-demo     # the failover the demo ran, with its record',
    `  golive drill schedule ${RUNBOOK} --cron "0 4 * * 1"`,
    '`golive dev --stop` stops it all.',
  ].join('\n');
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('tell the DR story on the embedded stack (or a running `golive dev`): backup, writes, drill with measured RPO/RTO, posture, a go-live rollout its guard rolls back, then a failover with the primary killed')
    .action(async () => {
      const config = loadConfig();
      // The failover's edge and the worker that switches it run the same nginx.
      config.tools.nginxBin = demoNginx(config);
      // The worker's posture (the go-live gate's DR evidence) reads the same runbooks the demo's posture does, wherever it runs.
      config.runbooksDir = RUNBOOKS_DIR;
      const { logger } = createFileLogger(config.logLevel, config.home, 'demo');
      installTemporalRuntime(logger);
      const live = readLiveStack(config.home);
      let embedded: EmbeddedStack | undefined;
      if (live) {
        say(`using the golive dev stack already running here (pid ${live.pid})`);
      } else {
        say('starting the embedded stack (Temporal dev server + Postgres; state in .golive/)');
        embedded = await startEmbeddedStack(config);
        console.log(embedded.notes.map((note) => `  ${note}`).join('\n'));
      }
      const endpoints: Endpoints = live ?? embedded!;
      try {
        const ordersUrl = await prepareSampleData(endpoints.databaseUrl, config);
        // The go-live chapter's app evaluates its flag over OFREP on golive's server: a free port, so two demos never collide.
        const services = await startServices(config, endpoints, { worker: true, http: true, httpPort: 0, taskQueue: TASK_QUEUE, logger });
        try {
          if (!(await tellTheStory(config, endpoints, ordersUrl, logger, services.http!.url))) throw new UserError('the demo did not end as expected; see the output above');
        } finally {
          await services.stop();
        }
      } finally {
        await embedded?.stop();
      }
      say(nextSteps(live !== undefined));
    });
}
