import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from '../config/env.ts';
import { ensureDatabase, startPostgres } from '../stack/postgres.ts';
import { pointerFile } from '../stack/pg-data-dir.ts';
import { startTemporalDevServer } from '../stack/temporal.ts';
import { loadToolchain, requireTool } from '../stack/toolchain.ts';
import { logDir } from './logger.ts';

/** Where `golive dev` and `golive demo` find Temporal and Postgres: given, or started here. */
export interface EmbeddedStack {
  temporalAddress: string;
  temporalUi?: string;
  databaseUrl: string;
  /** What this process started, in words, for the start-up banner. */
  notes: string[];
  stop(): Promise<void>;
}

export const DEV_PORTS = { temporal: 7233, temporalUi: 8233, postgres: 5433 } as const;

/**
 * The port Postgres had at the last start (GOLIVE_HOME/pg.port), else DEV_PORTS.postgres: URLs
 * of its databases written down (GOLIVE_HOME/demo.env) keep working while that port is free.
 */
function postgresPort(portFile: string): number {
  const recorded = existsSync(portFile) ? Number(readFileSync(portFile, 'utf8').trim()) : NaN;
  return Number.isInteger(recorded) && recorded > 0 && recorded < 65536 ? recorded : DEV_PORTS.postgres;
}

/**
 * Starts what the environment does not provide: a Temporal dev server with its state in
 * GOLIVE_HOME/temporal.db and its output in GOLIVE_HOME/logs/temporal.log, and a Postgres
 * cluster in GOLIVE_HOME/pg on the port it had last time. The next start reuses both.
 * As root, when the postgres user cannot enter GOLIVE_HOME (a clone in /root or a `mktemp -d`
 * folder), the cluster lives under /var/lib/golive instead and GOLIVE_HOME/pg.location says where.
 */
export async function startEmbeddedStack(config: Config): Promise<EmbeddedStack> {
  const home = resolve(config.home);
  const toolchain = loadToolchain(config.tools);
  const notes: string[] = [];
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };
  try {
    let temporalAddress = config.temporal.address;
    let temporalUi: string | undefined;
    if (temporalAddress) {
      notes.push(`Temporal     ${temporalAddress} (TEMPORAL_ADDRESS)`);
    } else {
      const dbFile = join(home, 'temporal.db');
      const logFile = join(logDir(home), 'temporal.log');
      await mkdir(logDir(home), { recursive: true });
      const server = await startTemporalDevServer({
        cli: requireTool(toolchain, 'temporal'),
        dbFile,
        port: DEV_PORTS.temporal,
        uiPort: DEV_PORTS.temporalUi,
        logFile,
        pidFile: join(home, 'temporal.pid'),
      });
      stops.push(server.stop);
      temporalAddress = server.address;
      temporalUi = server.uiUrl;
      notes.push(`Temporal     ${server.address}  (dev server, state in ${dbFile}, log in ${logFile})`, `Temporal UI  ${server.uiUrl}`);
    }
    let databaseUrl = config.databaseUrl;
    if (databaseUrl) {
      notes.push('Postgres     DATABASE_URL');
    } else {
      const portFile = join(home, 'pg.port');
      const cluster = await startPostgres({ pgBin: requireTool(toolchain, 'pgBin'), dataDir: join(home, 'pg'), port: postgresPort(portFile) });
      stops.push(cluster.stop);
      await writeFile(portFile, `${cluster.port}\n`);
      databaseUrl = await ensureDatabase(cluster.url, 'golive');
      notes.push(`Postgres     ${databaseUrl}  (data and server.log in ${cluster.dataDir})`);
      if (cluster.relocated) notes.push(`Postgres data in ${cluster.dataDir} because ${cluster.relocated} (recorded in ${pointerFile(join(home, 'pg'))})`);
    }
    return { temporalAddress, temporalUi, databaseUrl, notes, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
