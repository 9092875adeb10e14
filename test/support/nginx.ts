import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TargetOf } from '../../definitions/targets.ts';
import { freePort, stopChild, waitFor } from '../../stack/process.ts';
import { startNamedBackend, type LocalServer } from './backends.ts';

/**
 * nginx proxying upstream `app` (in an included file) to one of two named backends; every
 * answer names the server that gave it in X-Upstream-Addr, as an edge proxy set up for
 * nginx.switch-upstream's confirm does.
 */
export interface NginxFixture {
  url: string;
  target: TargetOf<'nginx'>;
  /** The proxy as clients reach it: the http target a switch confirms through. */
  front: TargetOf<'http'>;
  /** The nginx executable this fixture runs; actions get it through ActionDeps.nginxBin, as on a worker. */
  binary: string;
  backends: { blue: LocalServer; green: LocalServer };
  /** How many times nginx has reloaded its configuration so far. */
  reloads(): Promise<number>;
  stop(): Promise<void>;
}

const UPSTREAM = 'app';

function mainConfig(port: number): string {
  return `daemon off;
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log notice;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path temp/client;
  proxy_temp_path temp/proxy;
  fastcgi_temp_path temp/fastcgi;
  uwsgi_temp_path temp/uwsgi;
  scgi_temp_path temp/scgi;
  include upstream.conf;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://${UPSTREAM};
      add_header X-Upstream-Addr $upstream_addr always;
    }
  }
}
`;
}

/** Starts nginx under a fresh prefix with `upstream app` pointing at the blue backend. */
export async function startNginx(binary: string): Promise<NginxFixture> {
  const prefix = await mkdtemp(join(tmpdir(), 'golive-nginx-'));
  const [blue, green] = await Promise.all([startNamedBackend('blue'), startNamedBackend('green')]);
  for (const dir of ['conf', 'logs', 'temp']) await mkdir(join(prefix, dir));
  const port = await freePort();
  await writeFile(join(prefix, 'conf', 'nginx.conf'), mainConfig(port));
  await writeFile(join(prefix, 'conf', 'upstream.conf'), `upstream ${UPSTREAM} {\n    server ${blue.address};\n    keepalive 4;\n}\n`);
  const child = spawn(binary, ['-p', `${prefix}/`, '-c', 'conf/nginx.conf', '-e', 'logs/error.log'], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopChild(child);
    await Promise.all([blue.close(), green.close()]);
    await rm(prefix, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited at start-up; see ${prefix}/logs/error.log`);
      return (await fetch(url).catch(() => undefined))?.ok === true;
    }, 10_000, `nginx did not answer on ${url}`);
  } catch (error) {
    await stop();
    throw error;
  }
  const errorLog = join(prefix, 'logs', 'error.log');
  return {
    url,
    target: { type: 'nginx', prefix, config: 'conf/nginx.conf', upstreamFile: 'conf/upstream.conf' },
    front: { type: 'http', url },
    binary,
    backends: { blue, green },
    reloads: async () => (await readFile(errorLog, 'utf8')).split('\n').filter((line) => line.includes('(SIGHUP) received')).length,
    stop,
  };
}
