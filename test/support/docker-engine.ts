import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A small Docker Engine API server over a unix socket, for tests: only the endpoints golive
 * uses, answering as Docker's published API spec says (status codes, `{"message": ...}`
 * errors). Containers do not run anything: an image's behaviour decides how they report.
 */

/** How containers of an image behave once started. */
export interface ImageBehaviour {
  /**
   * `healthy` or `unhealthy`: a health check that reports `starting` for `startingMs`, then
   * this; `none`: no health check (running is all there is); `exits`: the process exits
   * with `exitCode` after `startingMs`, while its health check is still starting.
   */
  health: 'healthy' | 'unhealthy' | 'none' | 'exits';
  startingMs?: number;
  exitCode?: number;
  /** What the health check prints. */
  output?: string;
  /** On the host already, so creating needs no pull (default true). */
  local?: boolean;
}

export interface FakeContainer {
  id: string;
  name: string;
  image: string;
  env: string[];
  cmd: string[] | undefined;
  labels: Record<string, string>;
  exposedPorts: Record<string, object>;
  portBindings: Record<string, unknown>;
  startedAt?: number;
  stoppedAt?: number;
  /** When a started container's health check turns from `starting` to its verdict (epoch ms). */
  settledAt?: number;
}

/** One request as the engine received it: the path without the /vX.YY prefix, which is in `version`. */
export interface RecordedRequest {
  method: string;
  path: string;
  version?: string;
  query: Record<string, string>;
  body: unknown;
}

export interface FakeDockerEngine {
  socketPath: string;
  /** The target's `host`: unix:// and the socket path. */
  host: string;
  requests: RecordedRequest[];
  /** The container with this name or id, as the engine holds it. */
  container(nameOrId: string): FakeContainer | undefined;
  /** Adds a container as someone else on the host would have made it (not started). */
  addContainer(name: string, image: string, labels?: Record<string, string>): FakeContainer;
  close(): Promise<void>;
}

type Reply = { status: number; body?: unknown };
const message = (status: number, text: string): Reply => ({ status, body: { message: text } });

/** Starts the engine on a socket in a fresh temp folder; `images` are the images it knows (by reference). */
export async function startDockerEngine(images: Record<string, ImageBehaviour>): Promise<FakeDockerEngine> {
  const dir = await mkdtemp(join(tmpdir(), 'golive-docker-'));
  const socketPath = join(dir, 'docker.sock');
  const containers = new Map<string, FakeContainer>();
  const local = new Set(Object.entries(images).filter(([, image]) => image.local !== false).map(([reference]) => reference));
  const requests: RecordedRequest[] = [];

  const find = (nameOrId: string): FakeContainer | undefined => {
    const key = nameOrId.replace(/^\//, '');
    return [...containers.values()].find((container) => container.name === key || container.id === key)
      ?? (key.length >= 12 ? [...containers.values()].find((container) => container.id.startsWith(key)) : undefined);
  };

  const create = (name: string, image: string, config: Partial<FakeContainer>): FakeContainer => {
    const container: FakeContainer = { id: randomBytes(32).toString('hex'), name, image, env: [], cmd: undefined, labels: {}, exposedPorts: {}, portBindings: {}, ...config };
    containers.set(container.id, container);
    return container;
  };

  const server = createServer((request, response) => {
    readBody(request).then(
      (body) => {
        const url = new URL(request.url ?? '/', 'http://docker');
        const versioned = /^\/(v\d+\.\d+)(\/.*)$/.exec(url.pathname);
        const recorded: RecordedRequest = {
          method: request.method ?? 'GET',
          path: versioned?.[2] ?? url.pathname,
          ...(versioned?.[1] ? { version: versioned[1] } : {}),
          query: Object.fromEntries(url.searchParams),
          body,
        };
        requests.push(recorded);
        if (recorded.method === 'POST' && recorded.path === '/images/create') return pull(recorded.query, response);
        send(response, route(recorded));
      },
      (error: unknown) => send(response, message(500, String(error))),
    );
  });

  function route({ method, path, query, body }: RecordedRequest): Reply {
    if (method === 'GET' && path === '/_ping') return { status: 200, body: 'OK' };
    if (method === 'GET' && path === '/version') return { status: 200, body: { Version: '27.0.0-test', ApiVersion: '1.47', MinAPIVersion: '1.24', Os: 'linux', Arch: 'amd64' } };
    if (method === 'GET' && path === '/containers/json') return { status: 200, body: list(query) };
    if (method === 'POST' && path === '/containers/create') return createFromApi(query.name ?? '', body);
    const match = /^\/containers\/([^/]+)(\/json|\/start|\/stop)?$/.exec(path);
    if (!match) return message(404, 'page not found');
    const container = find(decodeURIComponent(match[1] ?? ''));
    if (!container) return message(404, `No such container: ${match[1]}`);
    const action = `${method} ${match[2] ?? ''}`;
    if (action === 'GET /json') return { status: 200, body: inspect(container) };
    if (action === 'POST /start') return start(container);
    if (action === 'POST /stop') return stop(container);
    if (action === 'DELETE ') return remove(container, query.force === 'true' || query.force === '1');
    return message(404, 'page not found');
  }

  function createFromApi(name: string, body: unknown): Reply {
    const config = (body ?? {}) as { Image?: string; Env?: string[]; Cmd?: string[]; Labels?: Record<string, string>; ExposedPorts?: Record<string, object>; HostConfig?: { PortBindings?: Record<string, unknown> } };
    if (!config.Image) return message(400, 'config cannot be empty in order to create a container');
    if (!local.has(config.Image)) return message(404, `No such image: ${config.Image}`);
    const taken = name === '' ? undefined : find(name);
    if (taken) return message(409, `Conflict. The container name "/${name}" is already in use by container "${taken.id}". You have to remove (or rename) that container to be able to reuse that name.`);
    const container = create(name || `container-${containers.size + 1}`, config.Image, {
      env: config.Env ?? [],
      cmd: config.Cmd,
      labels: config.Labels ?? {},
      exposedPorts: config.ExposedPorts ?? {},
      portBindings: config.HostConfig?.PortBindings ?? {},
    });
    return { status: 201, body: { Id: container.id, Warnings: [] } };
  }

  function behaviour(container: FakeContainer): ImageBehaviour {
    return images[container.image] ?? { health: 'none' };
  }

  function start(container: FakeContainer): Reply {
    if (state(container).Running) return { status: 304 };
    container.startedAt = Date.now();
    container.stoppedAt = undefined;
    container.settledAt = container.startedAt + (behaviour(container).startingMs ?? 0);
    return { status: 204 };
  }

  function stop(container: FakeContainer): Reply {
    if (!state(container).Running) return { status: 304 };
    container.stoppedAt = Date.now();
    return { status: 204 };
  }

  function remove(container: FakeContainer, force: boolean): Reply {
    if (state(container).Running && !force) {
      return message(409, `cannot remove container "/${container.name}": container is running: stop the container before removing or force remove`);
    }
    containers.delete(container.id);
    return { status: 204 };
  }

  function state(container: FakeContainer) {
    const image = behaviour(container);
    const settled = container.settledAt !== undefined && Date.now() >= container.settledAt;
    const exited = container.stoppedAt !== undefined || (image.health === 'exits' && settled);
    const running = container.startedAt !== undefined && !exited;
    const status = container.startedAt === undefined ? 'created' : running ? 'running' : 'exited';
    const exitCode = container.stoppedAt !== undefined ? 143 : exited ? (image.exitCode ?? 1) : 0;
    const base = { Status: status, Running: running, Paused: false, Restarting: false, OOMKilled: false, Dead: false, ExitCode: exitCode, Error: '' };
    if (image.health === 'none' || container.startedAt === undefined) return base;
    const verdict = settled && image.health !== 'exits' ? image.health : 'starting';
    const failed = verdict === 'unhealthy';
    const log = verdict !== 'starting' ? [{ Start: new Date().toISOString(), End: new Date().toISOString(), ExitCode: failed ? 1 : 0, Output: image.output ?? (failed ? 'check failed' : 'ok') }] : [];
    return { ...base, Health: { Status: verdict, FailingStreak: failed ? 3 : 0, Log: log } };
  }

  function inspect(container: FakeContainer) {
    return {
      Id: container.id,
      Name: `/${container.name}`,
      Image: `sha256:${container.id}`,
      State: state(container),
      Config: { Image: container.image, Env: container.env, Cmd: container.cmd ?? null, Labels: container.labels, ExposedPorts: container.exposedPorts },
      HostConfig: { PortBindings: container.portBindings },
    };
  }

  function list(query: Record<string, string>) {
    const filters = JSON.parse(query.filters ?? '{}') as { name?: string[]; label?: string[] };
    const all = query.all === 'true' || query.all === '1';
    return [...containers.values()]
      .filter((container) => all || state(container).Running)
      .filter((container) => !filters.name || filters.name.some((name) => container.name.includes(name.replace(/^\//, ''))))
      .filter((container) => !filters.label || filters.label.every((label) => hasLabel(container.labels, label)))
      .map((container) => ({ Id: container.id, Names: [`/${container.name}`], Image: container.image, Labels: container.labels, State: state(container).Status, Status: state(container).Status }));
  }

  /** Streams pull progress a line at a time; an image the engine does not know ends in an error line, as Docker's does. */
  function pull(query: Record<string, string>, response: ServerResponse): void {
    const from = query.fromImage ?? '';
    const tag = query.tag ?? '';
    const reference = tag === '' ? from : tag.startsWith('sha256:') ? `${from}@${tag}` : `${from}:${tag}`;
    const known = images[reference] !== undefined;
    const lines: object[] = [{ status: `Pulling from ${from}`, id: tag || 'latest' }, { status: 'Downloading', progressDetail: { current: 512, total: 1024 }, id: 'layer' }];
    if (known) lines.push({ status: `Digest: ${tag.startsWith('sha256:') ? tag : 'sha256:0000'}` }, { status: `Status: Downloaded newer image for ${reference}` });
    else lines.push({ errorDetail: { message: `manifest for ${reference} not found: manifest unknown` }, error: `manifest for ${reference} not found: manifest unknown` });
    response.writeHead(200, { 'content-type': 'application/json' });
    const next = (): void => {
      const line = lines.shift();
      if (line === undefined) {
        if (known) local.add(reference);
        response.end();
        return;
      }
      response.write(`${JSON.stringify(line)}\r\n`);
      setTimeout(next, 5);
    };
    next();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return {
    socketPath,
    host: `unix://${socketPath}`,
    requests,
    container: find,
    addContainer: (name, image, labels = {}) => create(name, image, { labels }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function hasLabel(labels: Record<string, string>, filter: string): boolean {
  const [key = '', value] = filter.split('=', 2);
  return value === undefined ? key in labels : labels[key] === value;
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString();
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

function send(response: ServerResponse, reply: Reply): void {
  if (reply.body === undefined) {
    response.writeHead(reply.status).end();
  } else if (typeof reply.body === 'string') {
    response.writeHead(reply.status, { 'content-type': 'text/plain; charset=utf-8' }).end(reply.body);
  } else {
    response.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
  }
}
