import { MockActivityEnvironment } from '@temporalio/testing';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Target } from '../../definitions/targets.ts';
import { actionRequest, testActivities } from '../support/actions.ts';
import { startDockerEngine, type FakeDockerEngine } from '../support/docker-engine.ts';

const API = 'registry.example.test/orders-api:1.4';
const WORKER = 'registry.example.test/orders-worker:1.4';
const DIGEST = `registry.example.test/orders-api@sha256:${'a1'.repeat(32)}`;
const SICK = 'registry.example.test/orders-api:broken';
const CRASHING = 'registry.example.test/orders-api:crashing';
const SLOW = 'registry.example.test/orders-api:slow';

let engine: FakeDockerEngine;
let activities: ReturnType<typeof testActivities>;
let host: { name: string; spec: Target };

beforeAll(async () => {
  engine = await startDockerEngine({
    [API]: { health: 'healthy', startingMs: 600 },
    [WORKER]: { health: 'none' },
    [DIGEST]: { health: 'healthy', startingMs: 100, local: false },
    [SICK]: { health: 'unhealthy', startingMs: 300, output: 'curl: (7) Failed to connect to localhost port 8080' },
    [CRASHING]: { health: 'exits', startingMs: 300, exitCode: 3 },
    [SLOW]: { health: 'healthy', startingMs: 60_000 },
  });
  activities = testActivities();
  host = { name: 'recovery-host', spec: { type: 'docker', host: engine.host } };
});

afterAll(async () => {
  await engine?.close();
});

const start = (input: Record<string, unknown>) => actionRequest('docker.start-containers', input, { target: host });
const stop = (names: string[]) => actionRequest('docker.stop-containers', { names }, { target: host });
const requestsTo = (method: string, path: string | RegExp) =>
  engine.requests.filter((request) => request.method === method && (typeof path === 'string' ? request.path === path : path.test(request.path)));

describe('docker.start-containers', () => {
  it('creates and starts the containers and waits until they report healthy, heartbeating what it created', async () => {
    const request = start({
      containers: [
        { name: 'orders-api-1', image: API, env: { DATABASE_URL: 'postgres://db.recovery:5432/orders' }, cmd: ['serve', '--port', '8080'], ports: { '8080/tcp': 18080 } },
        { name: 'orders-worker-1', image: WORKER },
      ],
      healthyWithin: '10s',
    });
    const environment = new MockActivityEnvironment();
    const heartbeats: unknown[] = [];
    environment.on('heartbeat', (details: unknown) => heartbeats.push(details));
    const result = await environment.run(activities['docker.start-containers'], request);

    const api = engine.container('orders-api-1');
    expect(result).toEqual({
      containers: [
        { name: 'orders-api-1', id: api?.id, image: API, created: true, health: 'healthy', healthyAt: expect.any(String) },
        { name: 'orders-worker-1', id: engine.container('orders-worker-1')?.id, image: WORKER, created: true, health: 'running', healthyAt: expect.any(String) },
      ],
      created: ['orders-api-1', 'orders-worker-1'],
    });
    const [first] = (result as { containers: { healthyAt: string }[] }).containers;
    expect(Date.parse(first?.healthyAt ?? '')).toBeGreaterThanOrEqual(api?.settledAt ?? Infinity);
    expect(heartbeats).toContainEqual({ created: ['orders-api-1'] });
    expect(heartbeats).toContainEqual({ created: ['orders-api-1', 'orders-worker-1'] });

    const created = requestsTo('POST', '/containers/create').find((entry) => entry.query.name === 'orders-api-1');
    expect(created?.query).toEqual({ name: 'orders-api-1' });
    expect(created?.body).toEqual({
      Image: API,
      Env: ['DATABASE_URL=postgres://db.recovery:5432/orders'],
      Cmd: ['serve', '--port', '8080'],
      Labels: { 'golive.run': request.idempotencyKey },
      ExposedPorts: { '8080/tcp': {} },
      HostConfig: { PortBindings: { '8080/tcp': [{ HostPort: '18080' }] } },
    });
    expect(requestsTo('POST', `/containers/${api?.id}/start`)).toHaveLength(1);
  });

  it('pulls an image pinned by digest, following the progress to its end, before creating the container', async () => {
    const result = await activities['docker.start-containers'](start({ containers: [{ name: 'orders-api-2', image: DIGEST, pull: true }] }));
    expect(result).toMatchObject({ containers: [{ name: 'orders-api-2', image: DIGEST, health: 'healthy' }] });
    const pulls = requestsTo('POST', '/images/create');
    expect(pulls.at(-1)?.query).toEqual({ fromImage: 'registry.example.test/orders-api', tag: `sha256:${'a1'.repeat(32)}` });
    const create = requestsTo('POST', '/containers/create').find((entry) => entry.query.name === 'orders-api-2');
    expect(engine.requests.indexOf(pulls.at(-1)!)).toBeLessThan(engine.requests.indexOf(create!));
  });

  it('fails when the pull reports an error in its stream, or the image is not on the host', async () => {
    const missing = `registry.example.test/orders-api@sha256:${'ff'.repeat(32)}`;
    await expect(activities['docker.start-containers'](start({ containers: [{ name: 'orders-api-9', image: missing, pull: true }] }))).rejects.toMatchObject({
      type: 'NotFound',
      nonRetryable: true,
      message: expect.stringMatching(/^docker\.start-containers recovery-host \(host unix:.*\): container orders-api-9: .*could not pull .*manifest unknown/),
    });
    await expect(activities['docker.start-containers'](start({ containers: [{ name: 'orders-api-9', image: missing }] }))).rejects.toMatchObject({
      type: 'NotFound',
      nonRetryable: true,
      message: expect.stringContaining(`image ${missing} is not on unix:`),
    });
    expect(engine.container('orders-api-9')).toBeUndefined();
  });

  it('fails with the last health check output when a container turns unhealthy, and with the exit code when it exits', async () => {
    await expect(activities['docker.start-containers'](start({ containers: [{ name: 'orders-api-3', image: SICK }] }))).rejects.toMatchObject({
      type: 'Unhealthy',
      nonRetryable: true,
      message: expect.stringMatching(/container orders-api-3: unhealthy after 3 failed health checks; last health check \(exit 1\): curl: \(7\) Failed to connect/),
    });
    await expect(activities['docker.start-containers'](start({ containers: [{ name: 'orders-api-4', image: CRASHING }] }))).rejects.toMatchObject({
      type: 'Unhealthy',
      message: expect.stringContaining('container orders-api-4: exited with code 3 before it was healthy'),
    });
  });

  it('fails when a container is still starting after healthyWithin', async () => {
    await expect(activities['docker.start-containers'](start({ containers: [{ name: 'orders-api-11', image: SLOW }], healthyWithin: '1s' }))).rejects.toMatchObject({
      type: 'Unhealthy',
      message: expect.stringContaining('container orders-api-11: not healthy within 1s: its health is still starting'),
    });
  });

  it('stops waiting when the step is cancelled, handing over what it created', async () => {
    const environment = new MockActivityEnvironment();
    const starting = environment.run(activities['docker.start-containers'], start({ containers: [{ name: 'orders-api-12', image: SLOW }] }));
    setTimeout(() => environment.cancel(), 500);
    const began = Date.now();
    await expect(starting).rejects.toMatchObject({ name: 'CancelledFailure', details: [{ created: ['orders-api-12'] }] });
    expect(Date.now() - began).toBeLessThan(5_000);
  });

  it('reuses on a retry what an earlier attempt of the step created, and creates nothing twice', async () => {
    const request = start({ containers: [{ name: 'orders-api-5', image: API }, { name: 'orders-worker-5', image: WORKER }] });
    const first = await activities['docker.start-containers'](request);
    const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { created: ['orders-api-5'] } });
    const second = await retry.run(activities['docker.start-containers'], request);
    expect(second).toEqual({
      containers: [
        expect.objectContaining({ name: 'orders-api-5', id: engine.container('orders-api-5')?.id, created: false, health: 'healthy' }),
        expect.objectContaining({ name: 'orders-worker-5', id: engine.container('orders-worker-5')?.id, created: false, health: 'running' }),
      ],
      created: ['orders-api-5', 'orders-worker-5'],
    });
    expect(first).toMatchObject({ created: ['orders-api-5', 'orders-worker-5'] });
    const creates = requestsTo('POST', '/containers/create').filter((entry) => entry.query.name === 'orders-api-5');
    expect(creates).toHaveLength(2);
    expect((await new Docker({ socketPath: engine.socketPath }).listContainers({ all: true, filters: { name: ['orders-api-5'] } })).length).toBe(1);
  });

  it('refuses a container of the same name that it did not create, and leaves it alone', async () => {
    const foreign = engine.addContainer('orders-api-6', API);
    const fromOtherStep = engine.addContainer('orders-api-7', API, { 'golive.run': 'run-other:start-app' });
    await expect(activities['docker.start-containers'](start({ containers: [{ name: 'orders-api-6', image: API }] }))).rejects.toMatchObject({
      type: 'Conflict',
      nonRetryable: true,
      message: expect.stringContaining(`container orders-api-6: the name is taken by container ${foreign.id.slice(0, 12)} (created) and golive did not create it`),
    });
    await expect(activities['docker.start-containers'](start({ containers: [{ name: 'orders-api-7', image: API }] }))).rejects.toMatchObject({
      type: 'Conflict',
      message: expect.stringContaining('it belongs to golive step run-other:start-app'),
    });
    expect(requestsTo('POST', `/containers/${foreign.id}/start`)).toEqual([]);
    expect(requestsTo('POST', `/containers/${fromOtherStep.id}/start`)).toEqual([]);
  });
});

describe('docker.stop-containers', () => {
  it('stops and removes the named containers, and reports those that are not there', async () => {
    await activities['docker.start-containers'](start({ containers: [{ name: 'orders-api-8', image: WORKER }] }));
    engine.addContainer('orders-idle-8', WORKER);
    const result = await activities['docker.stop-containers'](stop(['orders-api-8', 'orders-idle-8', 'orders-gone-8']));
    expect(result).toEqual({ stopped: ['orders-api-8', 'orders-idle-8'], missing: ['orders-gone-8'] });
    expect(engine.container('orders-api-8')).toBeUndefined();
    expect(engine.container('orders-idle-8')).toBeUndefined();
    expect(requestsTo('POST', '/containers/orders-api-8/stop')).toHaveLength(1);
    expect(requestsTo('DELETE', /^\/containers\/orders-(api|idle)-8$/)).toHaveLength(2);
  });

  it('counts a container an earlier attempt removed as stopped', async () => {
    const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { stopped: ['orders-api-8'] } });
    expect(await retry.run(activities['docker.stop-containers'], stop(['orders-api-8']))).toEqual({ stopped: ['orders-api-8'], missing: [] });
  });
});

describe('a Docker host that does not answer', () => {
  it('fails with a retryable error that names the host', async () => {
    const gone = { name: 'recovery-host', spec: { type: 'docker', host: `unix://${engine.socketPath}.missing` } } as const;
    const starting = activities['docker.start-containers'](actionRequest('docker.start-containers', { containers: [{ name: 'orders-api-10', image: API }] }, { target: gone }));
    await expect(starting).rejects.toThrow(`container orders-api-10: create: no answer from Docker at unix://${engine.socketPath}.missing`);
    await expect(starting).rejects.not.toHaveProperty('nonRetryable');
    const stopping = activities['docker.stop-containers'](actionRequest('docker.stop-containers', { names: ['orders-api-10'] }, { target: gone }));
    await expect(stopping).rejects.toThrow(`docker.stop-containers recovery-host (host unix://${engine.socketPath}.missing): container orders-api-10: stop: no answer from Docker`);
  });

  it('refuses a host that is not a unix socket or a plain-HTTP address', async () => {
    const ssh = { name: 'recovery-host', spec: { type: 'docker', host: 'ssh://ops@recovery' } } as const;
    await expect(activities['docker.stop-containers'](actionRequest('docker.stop-containers', { names: ['x'] }, { target: ssh }))).rejects.toMatchObject({
      type: 'InvalidTarget',
      nonRetryable: true,
      message: expect.stringContaining('host ssh://ops@recovery is not unix:///PATH, tcp://HOST:PORT or http://HOST:PORT'),
    });
  });
});

describe('the test Docker engine', () => {
  it('answers paths with an API version prefix as Docker does', async () => {
    const versioned = new Docker({ socketPath: engine.socketPath, version: 'v1.47' });
    expect(String(await versioned.ping())).toBe('OK');
    expect(await versioned.version()).toMatchObject({ ApiVersion: '1.47' });
    expect(engine.requests.at(-1)).toMatchObject({ method: 'GET', path: '/version', version: 'v1.47' });
  });
});
