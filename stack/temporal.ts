import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { portOrFree, spawn, stopChild, waitFor } from './process.ts';

/** A Temporal dev server (`temporal server start-dev`) run as a child process. */
export interface TemporalDevServer {
  address: string;
  uiUrl?: string;
  stop(): Promise<void>;
}

export interface TemporalDevServerOptions {
  cli: string;
  /** Keeps state across restarts; in memory when absent. */
  dbFile?: string;
  port?: number;
  /** Web UI port; no UI when null. */
  uiPort?: number | null;
  /** The server's own output goes here (appended). */
  logFile?: string;
  /** Records the server's pid; a server left behind by a killed golive is stopped before a new one starts. */
  pidFile?: string;
}

/** Stops a dev server whose pid file outlived the golive process that started it. */
async function stopOrphan(pidFile: string): Promise<void> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!pid) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  await waitFor(async () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, 15_000, `a Temporal dev server left behind (pid ${pid}) did not stop`);
}

export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  if (options.pidFile) await stopOrphan(options.pidFile);
  const port = await portOrFree(options.port);
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  if (options.dbFile) {
    await mkdir(dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  let uiUrl: string | undefined;
  if (options.uiPort === null) {
    args.push('--headless');
  } else {
    const uiPort = await portOrFree(options.uiPort ?? port + 1000);
    args.push('--ui-port', String(uiPort));
    uiUrl = `http://127.0.0.1:${uiPort}`;
  }
  const child = spawn(options.cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (options.logFile) {
    const log = createWriteStream(options.logFile, { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
  } else {
    child.stdout?.resume();
    child.stderr?.resume();
  }
  let exited = false;
  child.once('exit', () => (exited = true));
  if (options.pidFile) await writeFile(options.pidFile, `${child.pid}\n`);
  const address = `127.0.0.1:${port}`;
  await waitFor(async () => {
    if (exited) throw new Error(`temporal server start-dev exited at start-up (exit ${child.exitCode}); see ${options.logFile ?? 'its output'}`);
    return canReach(address);
  }, 60_000, `the Temporal dev server did not answer on ${address} within 60 s`);
  return {
    address,
    uiUrl,
    stop: async () => {
      await stopChild(child);
      if (options.pidFile) await rm(options.pidFile, { force: true });
    },
  };
}

async function canReach(address: string): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: 1_000 });
    try {
      await connection.workflowService.getSystemInfo({});
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}
