import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** A local HTTP(S) server for a test; `address` is HOST:PORT. */
export interface LocalServer {
  address: string;
  url: string;
  close(): Promise<void>;
}

async function listen(server: Server, scheme: 'http' | 'https'): Promise<LocalServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const address = `127.0.0.1:${port}`;
  return {
    address,
    url: `${scheme}://${address}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export function startHttpServer(handler: RequestListener): Promise<LocalServer> {
  return listen(createServer(handler), 'http');
}

export function startHttpsServer(credentials: { key: string; cert: string }, handler: RequestListener): Promise<LocalServer> {
  return listen(createHttpsServer(credentials, handler), 'https');
}

/** A backend that answers every request with its own name, so a test sees where traffic goes. */
export function startNamedBackend(name: string): Promise<LocalServer> {
  return startHttpServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end(name);
  });
}

/** A backend that turns healthy at a set moment, and says when it first answered so. */
export interface ScheduledBackend extends LocalServer {
  /** Answers 200 `ready` from `at` (epoch ms) on; null: not until told again. Resets firstHealthyAnswer. */
  healthyFrom(at: number | null): void;
  /** When it sent its first 200 since healthyFrom (epoch ms), if it has. */
  firstHealthyAnswer(): number | undefined;
}

/**
 * Until healthy, answers 503 `starting` (`hang`: keeps the request open without answering, like
 * a service that accepts connections while it boots); then 200 `ready`.
 */
export async function startScheduledBackend(whileUnhealthy: 'error' | 'hang' = 'error'): Promise<ScheduledBackend> {
  let healthyAt: number | null = null;
  let firstHealthy: number | undefined;
  const server = await startHttpServer((_request, response) => {
    const now = Date.now();
    if (healthyAt === null || now < healthyAt) {
      if (whileUnhealthy === 'error') response.writeHead(503, { 'content-type': 'text/plain' }).end('starting');
      return;
    }
    firstHealthy ??= now;
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ready');
  });
  return {
    ...server,
    healthyFrom: (at) => {
      healthyAt = at;
      firstHealthy = undefined;
    },
    firstHealthyAnswer: () => firstHealthy,
  };
}
