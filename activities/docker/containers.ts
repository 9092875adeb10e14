import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { z } from 'zod';
import type { ActionInput } from '../../definitions/actions.ts';
import { durationMs } from '../../definitions/duration.ts';
import { businessFailure } from '../../definitions/failures.ts';
import { stepTarget, type ActionCall } from '../call.ts';
import { cancellationSignal, deadlineSignal, heartbeat, previousAttempt } from '../context.ts';
import { dockerHost, pullImage, request, rethrowDocker, statusOf, type DockerHost } from './engine.ts';

/** The label golive puts on every container it creates: the step's idempotency key (`runId:stepId`). */
export const RUN_LABEL = 'golive.run';
/** How often a starting container's health is read. */
const POLL_MS = 250;

type ContainerSpec = ActionInput<'docker.start-containers'>['containers'][number];
type ContainerState = Docker.ContainerInspectInfo['State'];

/** What a retry of the step, and the compensation of an interrupted one, must know. */
const Created = z.object({ created: z.array(z.string()) });
/** What a retry of docker.stop-containers must know: the containers an earlier attempt removed. */
const Stopped = z.object({ stopped: z.array(z.string()) });

/** One container as docker.start-containers leaves it. */
export interface StartedContainer {
  name: string;
  id: string;
  image: string;
  /** True when this attempt created it; false when an earlier attempt of the step had (found by its label). */
  created: boolean;
  /** `healthy` from the image's health check; `running` for an image without one. */
  health: 'healthy' | 'running';
  /** When golive saw it healthy (or running). */
  healthyAt: string;
}

/**
 * Creates and starts each container on the step's Docker host, pulling its image first when
 * asked, and waits until it reports healthy (or running, when the image has no health check).
 * Every container carries the label golive.run=<idempotency key>: a retry reuses what an earlier
 * attempt made, and a container of the same name that golive did not make fails the step.
 * `created` lists every container the step made, for docker.stop-containers to undo.
 */
export async function startContainers(call: ActionCall<'docker.start-containers'>) {
  const target = stepTarget(call, 'docker');
  const context = `docker.start-containers ${target.name} (host ${target.spec.host})`;
  const docker = dockerHost(target.spec.host, context);
  const created = new Set(previousAttempt(Created)?.created ?? []);
  const containers: StartedContainer[] = [];
  for (const spec of call.input.containers) {
    const one = `${context}: container ${spec.name}`;
    if (spec.pull) await pullImage(docker, spec.image, one);
    const made = await createOrReuse(docker, spec, call.request.idempotencyKey, one);
    created.add(spec.name);
    heartbeat({ created: [...created] });
    await request(docker, `${one}: start`, (abortSignal) => docker.docker.getContainer(made.id).start({ abortSignal }).then(() => 204, answered([304])));
    const healthy = await waitHealthy(docker, made.id, call.input.healthyWithin, one);
    containers.push({ name: spec.name, id: made.id, image: spec.image, created: made.created, ...healthy });
  }
  return { containers, created: [...created] };
}

/** The create request: image, environment, command, published ports and golive's label. */
function createBody(spec: ContainerSpec, runKey: string): Docker.ContainerCreateOptions {
  const ports = Object.entries(spec.ports).map(([port, hostPort]) => [port.includes('/') ? port : `${port}/tcp`, hostPort] as const);
  return {
    Image: spec.image,
    Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    ...(spec.cmd ? { Cmd: spec.cmd } : {}),
    Labels: { [RUN_LABEL]: runKey },
    ExposedPorts: Object.fromEntries(ports.map(([port]) => [port, {}])),
    HostConfig: { PortBindings: Object.fromEntries(ports.map(([port, hostPort]) => [port, [{ HostPort: String(hostPort) }]])) },
  };
}

/**
 * Creates the container under its name; when the name is taken, reuses the container only if
 * this step made it (a retry), and never takes over one that someone else made.
 */
async function createOrReuse(target: DockerHost, spec: ContainerSpec, runKey: string, context: string): Promise<{ id: string; created: boolean }> {
  // The name goes in the query and the rest in the body only: environment values stay out of URLs.
  const options: Docker.ContainerCreateOptions & { _query: { name: string }; _body: Docker.ContainerCreateOptions } = {
    _query: { name: spec.name },
    _body: createBody(spec, runKey),
  };
  try {
    const container = await target.docker.createContainer({ ...options, abortSignal: deadlineSignal(60_000) });
    return { id: container.id, created: true };
  } catch (error) {
    if (statusOf(error) === 404 && !spec.pull) {
      throw businessFailure(`${context}: image ${spec.image} is not on ${target.host}; set pull: true or load the image there first`, 'NotFound', error);
    }
    if (statusOf(error) !== 409) rethrowDocker(error, `${context}: create`, target.host);
  }
  const existing = await request(target, `${context}: inspect`, (abortSignal) => target.docker.getContainer(spec.name).inspect({ abortSignal }));
  const owner = existing.Config.Labels?.[RUN_LABEL];
  if (owner !== runKey) {
    const whose = owner === undefined ? 'golive did not create it' : `it belongs to golive step ${owner}`;
    throw businessFailure(
      `${context}: the name is taken by container ${existing.Id.slice(0, 12)} (${existing.State.Status}) and ${whose}; remove or rename it, or name this container differently`,
      'Conflict',
    );
  }
  return { id: existing.Id, created: false };
}

/** Polls the container until it is healthy (or running, without a health check), heartbeating; stops when cancelled. */
async function waitHealthy(target: DockerHost, id: string, within: string, context: string): Promise<Pick<StartedContainer, 'health' | 'healthyAt'>> {
  const deadline = Date.now() + durationMs(within);
  for (;;) {
    const { State: state } = await request(target, `${context}: inspect`, (abortSignal) => target.docker.getContainer(id).inspect({ abortSignal }));
    const health = healthOf(state, context);
    if (health !== undefined) return { health, healthyAt: new Date().toISOString() };
    if (Date.now() >= deadline) {
      throw businessFailure(`${context}: not healthy within ${within}: its health is still ${state.Health?.Status ?? state.Status}${lastCheck(state)}`, 'Unhealthy');
    }
    heartbeat();
    await sleep(POLL_MS, undefined, { signal: cancellationSignal() });
  }
}

/** `healthy` or `running` when the container is ready, undefined while it starts; fails when it exited or turned unhealthy. */
function healthOf(state: ContainerState, context: string): StartedContainer['health'] | undefined {
  if (!state.Running && !state.Restarting && state.Status !== 'created') {
    const how = state.Status === 'exited' ? `exited with code ${state.ExitCode}` : `is ${state.Status} (exit code ${state.ExitCode})`;
    const error = state.Error ? ` (${state.Error})` : '';
    throw businessFailure(`${context}: ${how}${error} before it was healthy${lastCheck(state)}`, 'Unhealthy');
  }
  if (state.Health === undefined) return state.Running ? 'running' : undefined;
  if (state.Health.Status === 'healthy') return 'healthy';
  if (state.Health.Status === 'unhealthy') {
    throw businessFailure(`${context}: unhealthy after ${state.Health.FailingStreak} failed health checks${lastCheck(state)}`, 'Unhealthy');
  }
  return undefined;
}

/** The last health check's output, for a failure message. */
function lastCheck(state: ContainerState): string {
  const last = state.Health?.Log?.at(-1);
  return last === undefined ? '' : `; last health check (exit ${last.ExitCode}): ${last.Output.trim() || 'no output'}`;
}

/** Maps Docker's answer to its status when it is one of `expected` (304 nothing to do, 404 gone); rethrows others. */
function answered(expected: number[]) {
  return (error: unknown): number => {
    const status = statusOf(error);
    if (status !== undefined && expected.includes(status)) return status;
    throw error;
  };
}

/**
 * Stops and removes each named container on the step's Docker host. A container already
 * stopped is removed; one that does not exist is reported as missing, not as a failure (unless
 * an earlier attempt of the step removed it: then it counts as stopped).
 */
export async function stopContainers(call: ActionCall<'docker.stop-containers'>) {
  const target = stepTarget(call, 'docker');
  const context = `docker.stop-containers ${target.name} (host ${target.spec.host})`;
  const docker = dockerHost(target.spec.host, context);
  const earlier = new Set(previousAttempt(Stopped)?.stopped ?? []);
  const stopped: string[] = [];
  const missing: string[] = [];
  for (const name of call.input.names) {
    const one = `${context}: container ${name}`;
    const container = docker.docker.getContainer(name);
    const stop = await request(docker, `${one}: stop`, (abortSignal) => container.stop({ abortSignal }).then(() => 204, answered([304, 404])));
    if (stop === 404) {
      (earlier.has(name) ? stopped : missing).push(name);
      continue;
    }
    await request(docker, `${one}: remove`, (abortSignal) => container.remove({ abortSignal }).then(() => 204, answered([404])));
    stopped.push(name);
    heartbeat({ stopped: [...new Set([...earlier, ...stopped])] });
  }
  return { stopped, missing };
}
