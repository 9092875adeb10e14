import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { freePort, stopChild, waitFor } from './process.ts';

/** nginx as an edge proxy on this machine: one upstream in an included file, every answer naming its server. */
export interface NginxProxyOptions {
  binary: string;
  /** nginx's prefix: conf/, logs/ and temp/ are made under it. */
  prefix: string;
  upstream: string;
  /** The included file holding the upstream block, relative to the prefix (`conf/upstreams/orders.conf`). */
  upstreamFile: string;
  servers: readonly string[];
  /** Further directives of the upstream block (`keepalive 4`). */
  directives?: readonly string[];
  /** What answers 200 once nginx and the first server are up. */
  readyPath?: string;
  accessLog?: boolean;
}

function proxyConfig(port: number, options: NginxProxyOptions): string {
  return `daemon off;
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log notice;
events { worker_connections 256; }
http {
  access_log ${options.accessLog ? 'logs/access.log' : 'off'};
  client_body_temp_path temp/client;
  proxy_temp_path temp/proxy;
  fastcgi_temp_path temp/fastcgi;
  uwsgi_temp_path temp/uwsgi;
  scgi_temp_path temp/scgi;
  include ${relative('conf', options.upstreamFile)};
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://${options.upstream};
      # Names the server that answered: nginx.switch-upstream's confirm reads it.
      add_header X-Upstream-Addr $upstream_addr always;
    }
  }
}
`;
}

/** Writes the configuration under the prefix, starts nginx on a free port and waits until `readyPath` answers 200. */
export async function startNginxProxy(options: NginxProxyOptions): Promise<{ url: string; stop(): Promise<void> }> {
  const { binary, prefix } = options;
  for (const dir of ['conf', dirname(options.upstreamFile), 'logs', 'temp']) await mkdir(join(prefix, dir), { recursive: true });
  const port = await freePort();
  await writeFile(join(prefix, 'conf', 'nginx.conf'), proxyConfig(port, options));
  const lines = [...options.servers.map((server) => `server ${server};`), ...(options.directives ?? []).map((directive) => `${directive};`)];
  await writeFile(join(prefix, options.upstreamFile), `upstream ${options.upstream} {\n${lines.map((line) => `    ${line}\n`).join('')}}\n`);
  const child: ChildProcess = spawn(binary, ['-p', `${prefix}/`, '-c', 'conf/nginx.conf', '-e', 'logs/error.log'], { stdio: 'ignore' });
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error) => reject(new Error(`cannot run nginx at ${binary}: ${error.message}`, { cause: error })));
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = () => stopChild(child);
  try {
    await spawned;
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited at start-up; see ${prefix}/logs/error.log`);
      return (await fetch(`${url}${options.readyPath ?? '/'}`).catch(() => undefined))?.ok === true;
    }, 15_000, `nginx did not answer 200 on ${url}${options.readyPath ?? '/'}; see ${prefix}/logs/error.log`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop };
}
