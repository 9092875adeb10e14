import type { ActionCall } from '../call.ts';

/** Creates and starts containers on a Docker host and waits until they are healthy. */
export async function startContainers(_call: ActionCall<'docker.start-containers'>): Promise<Record<string, unknown>> {
  throw new Error('docker.start-containers is not built yet');
}

/** Stops and removes containers on a Docker host. */
export async function stopContainers(_call: ActionCall<'docker.stop-containers'>): Promise<Record<string, unknown>> {
  throw new Error('docker.stop-containers is not built yet');
}
