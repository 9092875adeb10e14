import type { Client } from '@temporalio/client';
import pg from 'pg';
import type { Config } from '../config/env.ts';
import { StackUnavailable } from './errors.ts';
import { readLiveStack } from './stack-file.ts';

/** Where Temporal and golive's Postgres are: the environment first, else a running `golive dev`. */
export interface Endpoints {
  temporalAddress: string;
  databaseUrl: string;
}

export function resolveEndpoints(config: Config): Endpoints {
  const live = readLiveStack(config.home);
  const temporalAddress = config.temporal.address ?? live?.temporalAddress;
  const databaseUrl = config.databaseUrl ?? live?.databaseUrl;
  if (!temporalAddress || !databaseUrl) {
    const missing = [!temporalAddress && 'TEMPORAL_ADDRESS', !databaseUrl && 'DATABASE_URL'].filter(Boolean).join(' and ');
    throw new StackUnavailable(`no golive stack to talk to: set ${missing}, or start the embedded stack with \`golive dev\` in this folder`);
  }
  return { temporalAddress, databaseUrl };
}

export const connectionOptions = (config: Config, address: string) => ({
  address,
  tls: config.temporal.tls || config.temporal.apiKey !== undefined ? {} : undefined,
  apiKey: config.temporal.apiKey,
});

export async function connectClient(config: Config, address: string, connectTimeoutMs = 10_000): Promise<Client> {
  // Loaded here, not at the top: commands that only read (status, runs) never load the Temporal client.
  const { openClient } = await import('./temporal-client.ts');
  return openClient(config, address, connectTimeoutMs).catch((error: Error) => {
    throw new StackUnavailable(`cannot reach Temporal at ${address}: ${error.message}`);
  });
}

/**
 * golive's own Postgres. A connection that drops while idle (Postgres restarted, failed over) is
 * discarded and reported to `onError`; without a listener pg would crash the process.
 */
export function createPool(databaseUrl: string, onError: (error: Error) => void = () => {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, application_name: 'golive', connectionTimeoutMillis: 5_000 });
  pool.on('error', onError);
  return pool;
}
