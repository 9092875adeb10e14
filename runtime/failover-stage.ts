import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import { ensureDatabase } from '../stack/postgres.ts';
import { startNginxProxy } from '../stack/nginx.ts';
import { run } from '../stack/process.ts';
import { startStreamingPair } from '../stack/replica.ts';
import { ORDERS_DDL, PortTaken, startOrdersWriter, startSite, type Ack, type OrdersWriter, type Site } from './failover-apps.ts';

/**
 * The failover stage: a service with a primary and a streaming standby database, an app server
 * in front of each (site-a on the primary, site-b on the standby), nginx as the edge users reach
 * it through, and a writer placing orders on the primary. Everything runs on this machine,
 * without Docker. `runbooks/orders-failover-demo.yaml` fails it over; its targets are `env`.
 */

/** The app servers' ports: runbooks/orders-failover-demo.yaml names 127.0.0.1:18082 literally. */
export const SITE_PORTS = { a: 18081, b: 18082 } as const;

/** The nginx upstream the edge proxies to, and its file under the nginx prefix. */
export const STAGE_UPSTREAM = 'orders_api';
export const STAGE_UPSTREAM_FILE = 'conf/upstreams/orders.conf';

export interface FailoverStageOptions {
  /** The stage's own folder (GOLIVE_HOME/failover): databases, nginx prefix, logs. Earlier data there is replaced. */
  home: string;
  pgBin: string;
  nginxBin: string;
  /** Ports of site-a and site-b; other than the defaults, a runbook's servers must name them. */
  sitePorts?: { a: number; b: number };
  logger?: Pick<Logger, 'info'>;
}

/** The variables a failover runbook of the stage names in its targets. */
export interface FailoverStageEnv {
  DEMO_FAILOVER_PRIMARY_URL: string;
  DEMO_FAILOVER_STANDBY_URL: string;
  DEMO_EDGE_PREFIX: string;
  DEMO_EDGE_URL: string;
  [name: string]: string;
}

/** What a failover lost: of the orders acknowledged before T_d, those the new primary does not have. */
export interface RowsLost {
  committedBeforeTd: number;
  lost: number[];
}

export interface FailoverStage {
  env: FailoverStageEnv;
  primaryUrl: string;
  standbyUrl: string;
  /** The app servers as nginx upstreams name them (`127.0.0.1:PORT`). */
  sites: { a: string; b: string };
  /** The edge as users reach it (nginx), and its prefix. */
  edgeUrl: string;
  nginxPrefix: string;
  writer: OrdersWriter;
  /** Stops the primary at once (`pg_ctl stop -m immediate`); resolves with when it was gone. */
  killPrimary(): Promise<Date>;
  /** Of `acked`, the orders committed at or before `declaredAt` that the standby (promoted by now) does not hold. */
  rowsLost(acked: readonly Ack[], declaredAt: Date): Promise<RowsLost>;
  /** Stops the writer, the app servers, nginx and both databases; their data and logs stay in `home`. */
  stop(): Promise<void>;
}

/** The nginx of the edge, under `prefix`, proxying to `server`. A leftover nginx of an earlier stage there is stopped first. */
async function startEdge(nginxBin: string, prefix: string, server: string): Promise<{ url: string; stop(): Promise<void> }> {
  if (existsSync(join(prefix, 'logs', 'nginx.pid'))) {
    await run(nginxBin, ['-p', `${prefix}/`, '-c', 'conf/nginx.conf', '-s', 'stop']).catch(() => undefined);
  }
  await rm(prefix, { recursive: true, force: true });
  return startNginxProxy({
    binary: nginxBin, prefix, upstream: STAGE_UPSTREAM, upstreamFile: STAGE_UPSTREAM_FILE, servers: [server], readyPath: '/healthz', accessLog: true,
  });
}

/** How long a stage waits for site ports another stage holds (another demo in the same machine). */
const PORT_WAIT_MS = 180_000;

/**
 * Listens on both site ports before anything else starts: the listening sockets are the stage's
 * claim on them. While another stage holds them, waits for it to finish, saying so once.
 */
async function claimSites(ports: { a: number; b: number }, log: (message: string) => void): Promise<[Site, Site]> {
  const deadline = Date.now() + PORT_WAIT_MS;
  for (let said = false; ; said = true) {
    try {
      const siteA = await startSite('site-a', ports.a);
      try {
        return [siteA, await startSite('site-b', ports.b)];
      } catch (error) {
        await siteA.close();
        throw error;
      }
    } catch (error) {
      if (!(error instanceof PortTaken) || Date.now() > deadline) throw error;
      if (!said) log(`${error.message.split(',')[0]}: waiting for the failover stage that holds it to finish`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Starts the stage in `options.home` with fresh data: the primary (with an `orders` table) and
 * its streaming standby on free ports, site-a and site-b on their fixed ports, nginx on a free
 * port proxying to site-a, and the writer. Fails naming a site port that is taken.
 */
export async function startFailoverStage(options: FailoverStageOptions): Promise<FailoverStage> {
  const home = resolve(options.home);
  const ports = options.sitePorts ?? SITE_PORTS;
  const log = (message: string) => options.logger?.info(message);
  const [siteA, siteB] = await claimSites(ports, (message) => (options.logger ?? console).info(message));
  await mkdir(home, { recursive: true });
  const stops: Array<() => Promise<unknown>> = [siteA.close, siteB.close];
  const stopAll = async () => {
    const failures: string[] = [];
    for (const stop of stops.splice(0).reverse()) await stop().catch((error: unknown) => failures.push(String(error)));
    if (failures.length > 0) throw new Error(`the failover stage did not stop cleanly: ${failures.join('; ')}`);
  };
  try {
    const pair = await startStreamingPair({
      pgBin: options.pgBin,
      primaryDir: join(home, 'primary'),
      standbyDir: join(home, 'standby'),
      durable: true,
      prepare: async (primary) => {
        await query(await ensureDatabase(primary.url, 'orders'), ORDERS_DDL);
      },
    });
    stops.push(pair.stop);
    const [primaryUrl, standbyUrl] = [withDatabase(pair.primary.url, 'orders'), withDatabase(pair.standby.url, 'orders')];
    log(`failover stage: primary ${primaryUrl} (data in ${pair.primary.dataDir}), standby ${standbyUrl} (data in ${pair.standby.dataDir})`);
    siteA.serve(primaryUrl);
    siteB.serve(standbyUrl);
    const nginxPrefix = join(home, 'nginx');
    const edge = await startEdge(options.nginxBin, nginxPrefix, siteA.address);
    stops.push(edge.stop);
    log(`failover stage: site-a ${siteA.address}, site-b ${siteB.address}, edge nginx ${edge.url} (prefix ${nginxPrefix})`);
    const writer = startOrdersWriter(primaryUrl);
    stops.push(writer.stop);
    return {
      env: { DEMO_FAILOVER_PRIMARY_URL: primaryUrl, DEMO_FAILOVER_STANDBY_URL: standbyUrl, DEMO_EDGE_PREFIX: nginxPrefix, DEMO_EDGE_URL: edge.url },
      primaryUrl,
      standbyUrl,
      sites: { a: siteA.address, b: siteB.address },
      edgeUrl: edge.url,
      nginxPrefix,
      writer,
      killPrimary: () => pair.crashPrimary(),
      rowsLost: async (acked, declaredAt) => {
        const before = acked.filter((ack) => ack.at.getTime() <= declaredAt.getTime()).map((ack) => ack.id);
        const rows = await query<{ id: number }>(standbyUrl, 'SELECT id FROM orders WHERE id = ANY($1::int[])', [before]);
        const present = new Set(rows.map((row) => row.id));
        return { committedBeforeTd: before.length, lost: before.filter((id) => !present.has(id)) };
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
}
