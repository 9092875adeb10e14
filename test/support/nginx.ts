import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TargetOf } from '../../definitions/targets.ts';
import { startNginxProxy } from '../../stack/nginx.ts';
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

/** Starts nginx under a fresh prefix with `upstream app` pointing at the blue backend. */
export async function startNginx(binary: string): Promise<NginxFixture> {
  const prefix = await mkdtemp(join(tmpdir(), 'golive-nginx-'));
  const [blue, green] = await Promise.all([startNamedBackend('blue'), startNamedBackend('green')]);
  const closeAll = async () => {
    await Promise.all([blue.close(), green.close()]);
    await rm(prefix, { recursive: true, force: true });
  };
  const proxy = await startNginxProxy({ binary, prefix, upstream: 'app', upstreamFile: 'conf/upstream.conf', servers: [blue.address], directives: ['keepalive 4'] })
    .catch(async (error: unknown) => {
      await closeAll();
      throw error;
    });
  const { url } = proxy;
  const stop = async () => {
    await proxy.stop();
    await closeAll();
  };
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
