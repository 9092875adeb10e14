import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config/env.ts';
import { connectionOptions } from './connections.ts';

/** The Temporal client, in a module of its own so that only the commands that need it load it. */
export async function openClient(config: Config, address: string, connectTimeoutMs: number): Promise<Client> {
  const connection = await Connection.connect({ ...connectionOptions(config, address), connectTimeout: connectTimeoutMs });
  return new Client({ connection, namespace: config.temporal.namespace });
}
