import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { freePort, stopChild, waitFor } from '../../stack/process.ts';
import { createTestDatabase } from './db.ts';

const SERVER = fileURLToPath(new URL('./unleash-process.ts', import.meta.url));
/** The most of the server's error log a test keeps; Unleash logs each request it refuses. */
const KEPT_LOG = 20_000;

/** A real unleash-server for one test file: its own process and database, one admin token, one client token. */
export interface UnleashServer {
  url: string;
  /** Admin API token (`*:*.…`): what a golive unleash target carries. */
  adminToken: string;
  /** Backend (client SDK) token for `environment`, what an application's unleash-client uses. */
  clientToken: string;
  environment: string;
  /** Milliseconds from start() to /health answering 200. */
  startMs: number;
  stop(): Promise<void>;
}

/**
 * Starts unleash-server in a child process on a free port. Its init tokens are inserted only while
 * the token table is empty, which is why every server gets a fresh database. No version check (it
 * would call out to the internet). The errors it logs are kept and shown when it fails to start
 * or dies while a test still uses it.
 */
export async function startUnleash(environment = 'development'): Promise<UnleashServer> {
  const database = await createTestDatabase('unleash');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const adminToken = `*:*.${randomBytes(16).toString('hex')}`;
  const clientToken = `default:${environment}.${randomBytes(16).toString('hex')}`;
  const began = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER], {
    env: { ...process.env, UNLEASH_TEST_SERVER: JSON.stringify({ databaseUrl: database.url, port, adminToken, clientToken, environment }) },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => { log = (log + text).slice(-KEPT_LOG); });
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping) console.error(`unleash-server on ${url} exited (${signal ?? `code ${code}`}) while tests used it:\n${log}`);
  });
  const stop = async () => {
    stopping = true;
    await stopChild(child, 2_000);
    await database.drop();
  };
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`it exited with code ${child.exitCode}`);
      return (await fetch(`${url}/health`).catch(() => undefined))?.ok === true;
    }, 60_000, `it did not answer /health on ${url} within 60 s`);
  } catch (error) {
    await stop().catch(() => {});
    throw new Error(`unleash-server did not start: ${error instanceof Error ? error.message : String(error)}\n${log}`, { cause: error });
  }
  return { url, adminToken, clientToken, environment, startMs: Date.now() - began, stop };
}
