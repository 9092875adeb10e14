import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { createRegistry } from './metrics.ts';
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

/** The reply to one request; a path that cannot be decoded is the client's mistake, a throwing handler is logged. */
async function replyTo(table: Record<string, Handler>, request: IncomingMessage, logger: Logger): Promise<Reply> {
  const method = request.method ?? 'GET';
  const target = request.url ?? '/';
  let url: URL;
  let found: ReturnType<typeof match>;
  try {
    url = new URL(target, 'http://golive');
    found = match(table, method, url.pathname);
  } catch {
    return { status: 400, body: { error: `malformed request path ${target.split('?')[0]}` } };
  }
  try {
    return found ? await found.handler(found.params, url.searchParams) : notFound(`no route ${method} ${url.pathname}`);
  } catch (error) {
    logger.error({ err: error, path: url.pathname }, 'request failed');
    return { status: 500, body: { error: 'internal error; see the server log' } };
  }
}

/** golive's HTTP server: health, readiness, metrics and the read API. */
export async function startHttpServer(deps: Omit<ServerDeps, 'registry' | 'logger'>, options: { host: string; port: number; logger: Logger }): Promise<HttpServer> {
  const table = routes({ ...deps, registry: createRegistry(deps), logger: options.logger });
  const answer = async (request: IncomingMessage, response: ServerResponse) => {
    const reply = await replyTo(table, request, options.logger);
    const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
    response.writeHead(reply.status, { 'content-type': reply.contentType ?? 'application/json; charset=utf-8' });
    response.end(text);
  };
  const server: Server = createServer((request, response) => {
    answer(request, response).catch((error: unknown) => {
      options.logger.error({ err: error, path: request.url }, 'could not answer request');
      response.destroy();
    });
  });
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
