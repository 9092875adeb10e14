import { randomBytes } from 'node:crypto';
import { start, ApiTokenType, type IUnleash, type LogProvider } from 'unleash-server';
import { freePort, waitFor } from '../../stack/process.ts';
import { createTestDatabase } from './db.ts';

/** A real unleash-server for one test file: its own database, one admin token, one client token. */
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
 * Unleash logs every request it refuses, and a test refuses some on purpose; errors it logs are
 * kept here so a failing test can print them, never on the console.
 */
function quietLogger(errors: string[]): LogProvider {
  const ignore = () => {};
  const keep = (message: unknown) => {
    if (errors.length < 100) errors.push(String(message));
  };
  return () => ({ debug: ignore, info: ignore, warn: ignore, error: keep, fatal: keep });
}

/**
 * Starts unleash-server in this process on a free port. Its init tokens are inserted only while
 * the token table is empty, which is why every server gets a fresh database. No version check
 * (it would call out to the internet) and no SIGTERM handler of its own (the test stops it).
 */
export async function startUnleash(environment = 'development'): Promise<UnleashServer> {
  const database = await createTestDatabase('unleash');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const adminToken = `*:*.${randomBytes(16).toString('hex')}`;
  const clientToken = `default:${environment}.${randomBytes(16).toString('hex')}`;
  const errors: string[] = [];
  const began = Date.now();
  let unleash: IUnleash | undefined;
  try {
    unleash = await start({
      databaseUrl: database.url,
      db: { ssl: false },
      server: { host: '127.0.0.1', port, gracefulShutdownEnable: false, serverMetrics: false },
      versionCheck: { enable: false },
      getLogger: quietLogger(errors),
      authentication: {
        initApiTokens: [
          { secret: adminToken, tokenName: 'golive-admin', type: ApiTokenType.ADMIN, environment: '*', projects: ['*'] },
          { secret: clientToken, tokenName: 'golive-app', type: ApiTokenType.BACKEND, environment, projects: ['default'] },
        ],
      },
    });
    await waitFor(async () => (await fetch(`${url}/health`).catch(() => undefined))?.ok === true, 30_000, `unleash-server did not answer /health on ${url}`);
  } catch (error) {
    await unleash?.stop().catch(() => {});
    await database.drop().catch(() => {});
    throw new Error(`unleash-server did not start: ${String(error)}\n${errors.join('\n')}`, { cause: error });
  }
  const running = unleash;
  return {
    url,
    adminToken,
    clientToken,
    environment,
    startMs: Date.now() - began,
    stop: async () => {
      await running.stop();
      await database.drop();
    },
  };
}
