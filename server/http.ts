import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { notFound, routes, type Handler, type Reply, type ServerDeps } from './routes.ts';

export interface HttpServer {
  url: string;
  close(): Promise<void>;
}

function match(table: Record<string, Handler>, method: string, path: string): { handler: Handler; params: Record<string, string> } | undefined {
  for (const [key, handler] of Object.entries(table)) {
    const [routeMethod, pattern = ''] = key.split(' ');
    if (routeMethod !== method) continue;
    const names: string[] = [];
    const regex = new RegExp(`^${pattern.replace(/:(\w+)/g, (_, name: string) => (names.push(name), '([^/]+)'))}$`);
    const found = regex.exec(path);
    if (found) return { handler, params: Object.fromEntries(names.map((name, index) => [name, decodeURIComponent(found[index + 1] ?? '')])) };
  }
  return undefined;
}

/** Prometheus registry with process metrics and the number of runs by status, read at scrape time. */
export function createRegistry(deps: Pick<ServerDeps, 'store'>): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'golive_' });
  new Gauge({
    name: 'golive_runs',
    help: 'Runs recorded in golive, by status (latest 500)',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const run of await deps.store.listRuns({ limit: 500 })) this.inc({ status: run.status });
    },
  });
  return registry;
}

/** golive's HTTP server: health, readiness, metrics and the read API. */
export async function startHttpServer(deps: Omit<ServerDeps, 'registry'>, options: { host: string; port: number; logger: Logger }): Promise<HttpServer> {
  const table = routes({ ...deps, registry: createRegistry(deps) });
  const answer = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://golive');
    const found = match(table, request.method ?? 'GET', url.pathname);
    let reply: Reply;
    try {
      reply = found ? await found.handler(found.params, url.searchParams) : notFound(`no route ${request.method} ${url.pathname}`);
    } catch (error) {
      options.logger.error({ err: error, path: url.pathname }, 'request failed');
      reply = { status: 500, body: { error: 'internal error; see the server log' } };
    }
    const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
    response.writeHead(reply.status, { 'content-type': reply.contentType ?? 'application/json; charset=utf-8' });
    response.end(text);
  };
  const server: Server = createServer((request, response) => void answer(request, response));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://${options.host}:${port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
