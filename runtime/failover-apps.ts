import { createServer, type Server } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';

/**
 * The service of the failover stage: a tiny app server per site, healthy only while its
 * database takes writes, and a writer placing orders on the primary that remembers which
 * commits were acknowledged, and when: the ground truth a failover's lost rows are counted from.
 */

/** The table the writer fills, on the primary's `orders` database. */
export const ORDERS_DDL = `CREATE TABLE IF NOT EXISTS orders (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  placed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  note text NOT NULL DEFAULT 'failover stage'
)`;

/** True when the server is a primary whose sessions may write: what a site needs to serve orders. */
const WRITABLE_SQL = `SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off' AS writable`;

const CONNECT_TIMEOUT_MS = 500;
const QUERY_TIMEOUT_MS = 1_000;

function message(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}

/** One app server of the stage, listening on 127.0.0.1. */
export interface Site {
  name: string;
  /** `127.0.0.1:PORT`, as an nginx upstream names it. */
  address: string;
  /** Puts the site in front of the database at `databaseUrl`; until then it answers 503. */
  serve(databaseUrl: string): void;
  close(): Promise<void>;
}

/** A site's port is held by another process; the stage waits for it (another demo's stage ends within a minute). */
export class PortTaken extends Error {
  override name = 'PortTaken';
}

/** Listens on `port` of 127.0.0.1, or fails naming the port when something else has it. */
async function listen(server: Server, name: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE'
        ? new PortTaken(`port ${port} of 127.0.0.1 is taken, so ${name} cannot listen there: stop what listens on ${port} (an earlier failover stage?) and start again`)
        : new Error(`${name} cannot listen on 127.0.0.1:${port}: ${message(error)}`, { cause: error }));
    };
    server.once('error', failed);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', failed);
      resolve();
    });
  });
}

function databasePool(name: string, databaseUrl: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 4,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    idleTimeoutMillis: 10_000,
    application_name: `failover stage ${name}`,
  });
  // A connection lost while idle (the database died) is dropped from the pool; the next check says so.
  pool.on('error', () => {});
  return pool;
}

/**
 * Starts app server `name` on 127.0.0.1:`port`. Once it serves a database, `GET /healthz`
 * answers 200 and the site's name only when that database answers and accepts writes (a
 * primary, not read-only), else 503 saying why; every other path is 404.
 */
export async function startSite(name: string, port: number): Promise<Site> {
  let pool: pg.Pool | undefined;
  const health = async (): Promise<{ status: number; body: string }> => {
    if (!pool) return { status: 503, body: `${name}: no database yet\n` };
    try {
      const { rows } = await pool.query<{ writable: boolean }>(WRITABLE_SQL);
      return rows[0]?.writable === true ? { status: 200, body: `${name}\n` } : { status: 503, body: `${name}: its database does not accept writes\n` };
    } catch (error) {
      return { status: 503, body: `${name}: its database does not answer: ${message(error)}\n` };
    }
  };
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/healthz') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`${name}: only GET /healthz is here\n`);
      return;
    }
    void health().then(({ status, body }) => response.writeHead(status, { 'content-type': 'text/plain' }).end(body));
  });
  await listen(server, name, port);
  return {
    name,
    address: `127.0.0.1:${port}`,
    serve: (databaseUrl) => {
      pool = databasePool(name, databaseUrl);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool?.end();
    },
  };
}

/** An order whose COMMIT the primary acknowledged, and when the acknowledgement arrived. */
export interface Ack {
  id: number;
  at: Date;
}

/** The writer of the stage: one order every `intervalMs` on one connection to the primary. */
export interface OrdersWriter {
  /** Orders acknowledged so far. */
  acked(): number;
  /** Ends the writer; every acknowledged order, oldest first. */
  stop(): Promise<Ack[]>;
}

/**
 * Inserts one order every `intervalMs` (default 20 ms) into `orders` at `url` over one
 * connection, remembering each acknowledged id. When the connection is lost it tries a new one
 * at every tick, quietly: the primary being gone is what the stage is for.
 */
export function startOrdersWriter(url: string, intervalMs = 20): OrdersWriter {
  const acks: Ack[] = [];
  const controller = new AbortController();
  const { signal } = controller;
  const running = (async () => {
    let client: pg.Client | undefined;
    const start = Date.now();
    let tick = 0;
    while (!signal.aborted) {
      try {
        if (client === undefined) {
          const fresh = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, query_timeout: QUERY_TIMEOUT_MS, application_name: 'failover stage writer' });
          fresh.on('error', () => {});
          client = fresh;
          await fresh.connect();
        }
        const { rows } = await client.query<{ id: number }>('INSERT INTO orders DEFAULT VALUES RETURNING id');
        const id = rows[0]?.id;
        if (id !== undefined) acks.push({ id, at: new Date() });
      } catch {
        await client?.end().catch(() => {});
        client = undefined;
      }
      tick = Math.max(tick + 1, Math.ceil((Date.now() - start) / intervalMs));
      await delay(Math.max(0, start + tick * intervalMs - Date.now()), undefined, { signal }).catch(() => undefined);
    }
    await client?.end().catch(() => {});
  })();
  let stopped: Promise<Ack[]> | undefined;
  return {
    acked: () => acks.length,
    stop: () => {
      controller.abort();
      stopped ??= running.then(() => [...acks]);
      return stopped;
    },
  };
}
