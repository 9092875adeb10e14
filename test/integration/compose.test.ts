import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';

const run = promisify(execFile);
const COMPOSE_FILE = fileURLToPath(new URL('../../docker-compose.yml', import.meta.url));
const DOCKERFILE = fileURLToPath(new URL('../../Dockerfile', import.meta.url));
const SERVICES = ['golive-db', 'golive-server', 'golive-worker', 'temporal', 'temporal-db', 'temporal-ui'];
const SECRET_KEY = /PASSWORD|PWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY/i;
const ONLY_REFERENCE = /^\$\{[A-Z][A-Z0-9_]*(:\?[^}]*)?\}$/;

const Environment = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));
const Service = z.object({
  image: z.string().optional(),
  build: z.union([z.string(), z.object({ context: z.string(), dockerfile: z.string().optional() })]).optional(),
  command: z.array(z.string()).optional(),
  env_file: z.union([z.string(), z.array(z.string())]).optional(),
  environment: Environment.optional(),
  restart: z.string().optional(),
  healthcheck: z.object({ test: z.array(z.string()) }).optional(),
  volumes: z.array(z.string()).optional(),
  ports: z.array(z.string()).optional(),
});
const ComposeFile = z.object({ services: z.record(z.string(), Service), volumes: z.record(z.string(), z.unknown()).optional() });
type ComposeFile = z.infer<typeof ComposeFile>;

/**
 * `docker-compose config` on a copy of docker-compose.yml next to a throwaway .env, with an
 * environment holding nothing else, so it runs the same on a fresh clone without a real .env.
 */
describe('docker-compose.yml', () => {
  const secrets = { GOLIVE_DB_PASSWORD: `throwaway-${randomUUID()}`, TEMPORAL_DB_PASSWORD: `throwaway-${randomUUID()}` };
  let dir = '';
  let compose = '';

  beforeAll(async () => {
    compose = requireTool(loadToolchain(), 'dockerCompose');
    dir = await mkdtemp(join(tmpdir(), 'golive-compose-'));
    await copyFile(COMPOSE_FILE, join(dir, 'docker-compose.yml'));
    const envLines = Object.entries(secrets).map(([key, value]) => `${key}=${value}`);
    await writeFile(join(dir, '.env'), `${envLines.join('\n')}\nGOLIVE_LOG_LEVEL=info\n`);
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const dockerCompose = async (...args: string[]) => {
    const result = await run(compose, ['-f', join(dir, 'docker-compose.yml'), ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir },
      timeout: 30_000,
    });
    return result.stdout;
  };
  const resolvedConfig = async (): Promise<ComposeFile> => ComposeFile.parse(parse(await dockerCompose('config')));

  it('is valid for docker-compose', async () => {
    await expect(dockerCompose('config', '-q')).resolves.toBe('');
  });

  it('runs Temporal with its UI and database, golive’s database, a worker and a server', async () => {
    const config = await resolvedConfig();
    expect(Object.keys(config.services).sort()).toEqual(SERVICES);
    expect(config.services.temporal?.image).toMatch(/^temporalio\/auto-setup:\d+\.\d+\.\d+$/);
    expect(config.services['temporal-ui']?.image).toMatch(/^temporalio\/ui:\d+\.\d+\.\d+$/);
    for (const service of Object.values(config.services)) {
      expect(service.restart).toBe('unless-stopped');
      if (service.image && !service.build) expect(service.image).toMatch(/:\d+\.\d+/);
    }
  });

  it('builds the worker and the server from golive’s Dockerfile, wired to the compose services', async () => {
    const { services } = await resolvedConfig();
    const worker = services['golive-worker'];
    const server = services['golive-server'];
    for (const [service, command] of [[worker, 'worker'], [server, 'server']] as const) {
      expect(service?.build).toEqual({ context: dir });
      expect(service?.image).toBe(server?.image);
      expect(service?.command).toEqual([command]);
      expect(service?.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
      expect(service?.environment?.DATABASE_URL).toBe(`postgres://golive:${secrets.GOLIVE_DB_PASSWORD}@golive-db:5432/golive`);
      expect(service?.environment?.GOLIVE_LOG_LEVEL).toBe('info');
    }
    expect(server?.healthcheck?.test.join(' ')).toContain('/healthz');
  });

  it('publishes every port on loopback only, the golive server among them', async () => {
    const { services } = await resolvedConfig();
    const published = Object.entries(services).flatMap(([name, service]) => (service.ports ?? []).map((port) => `${name} ${port}`));
    expect(published).toContain('golive-server 127.0.0.1:8080:8080/tcp');
    expect(published.filter((entry) => !/^\S+ 127\.0\.0\.1:\d+:\d+(\/tcp)?$/.test(entry))).toEqual([]);
  });

  it('keeps database state in named volumes', async () => {
    const config = await resolvedConfig();
    const named = Object.keys(config.volumes ?? {});
    for (const database of ['temporal-db', 'golive-db']) {
      const source = config.services[database]?.volumes?.[0]?.split(':')[0];
      expect(named).toContain(source);
    }
  });

  it('writes no secret value: secrets are ${VAR} references or come from env_file', async () => {
    const raw = ComposeFile.parse(parse(await readFile(COMPOSE_FILE, 'utf8'), { merge: true }));
    const literalSecrets = Object.entries(raw.services).flatMap(([name, service]) =>
      Object.entries(service.environment ?? {})
        .filter(([key, value]) => SECRET_KEY.test(key) && !ONLY_REFERENCE.test(String(value)))
        .map(([key, value]) => `${name}.${key}=${String(value)}`),
    );
    const urlsWithLiteralPasswords = Object.values(raw.services)
      .flatMap((service) => Object.values(service.environment ?? {}))
      .map(String)
      .filter((value) => /:\/\/[^/:@]+:(?!\$\{)[^@]+@/.test(value));
    expect(literalSecrets).toEqual([]);
    expect(urlsWithLiteralPasswords).toEqual([]);
    expect(raw.services['golive-worker']?.env_file).toBe('.env');
    expect(raw.services['golive-server']?.env_file).toBe('.env');
  });
});

describe('Dockerfile', () => {
  it('builds a production image that runs golive as a non-root user with the Postgres client tools', async () => {
    const dockerfile = await readFile(DOCKERFILE, 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20\.\d+\.\d+-bookworm-slim$/m);
    expect(dockerfile).toMatch(/apt-get install [^\n]*postgresql-client/);
    expect(dockerfile).toContain('npm ci --omit=dev');
    expect(dockerfile).toMatch(/^USER golive$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \[.*"golive"\]$/m);
  });
});
