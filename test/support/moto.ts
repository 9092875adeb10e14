import { spawn } from 'node:child_process';
import { freePort, stopChild, waitFor } from '../../stack/process.ts';

/** A moto server: AWS APIs answered locally. `env` is what the worker needs to talk to it. */
export interface MotoServer {
  endpoint: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Starts `moto_server -H 127.0.0.1 -p PORT` and waits until it answers. */
export async function startMoto(binary: string): Promise<MotoServer> {
  const port = await freePort();
  const child = spawn(binary, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`moto_server exited at start-up (exit ${child.exitCode})`);
      return (await fetch(`${endpoint}/moto-api/`).catch(() => undefined))?.ok === true;
    }, 20_000, `moto_server did not answer on ${endpoint}`);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return {
    endpoint,
    env: { AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' },
    stop: () => stopChild(child),
  };
}
