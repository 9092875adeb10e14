import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { createActionActivities } from '../../activities/catalog.ts';
import { parseRoles } from '../../definitions/roles.ts';
import { RolloutPlanSchema, type RolloutPlan } from '../../definitions/schema.ts';
import { pino } from 'pino';
import { createRoleDirectory } from '../../runtime/roles.ts';
import { startHttpServer, type HttpServer } from '../../server/http.ts';
import { createFlagStore, type FlagStore } from '../../store/flags.ts';
import type { IdentityStore } from '../../store/identity.ts';
import { createPgProtectionStore } from '../../store/protection.ts';
import { ROLLOUT_WORKFLOW, type RolloutRecord, type RolloutRunInput } from '../../workflows/definitions.ts';
import { uniqueId } from './db.ts';
import type { EngineHarness } from './engine.ts';

/** Two release managers (four-eyes needs a second one), an approver, an incident commander. */
export const ROLLOUT_ROLES = parseRoles('rita=release-manager,rob=release-manager,adam=approver,ivan=incident-commander');

/** A rollout plan as a file would hold it, parsed (defaults applied). */
export function rolloutPlan(spec: Record<string, unknown>, flag = uniqueId('flag')): RolloutPlan {
  return RolloutPlanSchema.parse({
    apiVersion: 'golive/v1',
    kind: 'RolloutPlan',
    metadata: { name: 'checkout-v2', service: 'checkout' },
    spec: { flag: { key: flag }, ...spec },
  });
}

/** A worker with golive's real flag store (Postgres) behind flag.set-rollout, and the rollbacks it announced. */
export async function startRolloutWorker(harness: EngineHarness): Promise<{ flags: FlagStore; rollbacks: RolloutRecord[] }> {
  const flags = createFlagStore(harness.pool);
  const rollbacks: RolloutRecord[] = [];
  await harness.startWorker(createActionActivities({ env: {}, pgBin: '', flags }), { roles: createRoleDirectory(ROLLOUT_ROLES), flags, rollbacks });
  return { flags, rollbacks };
}

export function rolloutInput(plan: RolloutPlan, requestedBy = 'rita'): RolloutRunInput {
  return { plan, requestedBy, channel: 'cli', source: 'test' };
}

/** The record a rollout ended with, whether it succeeded or not. */
export async function finalRollout(client: Client, runId: string): Promise<RolloutRecord> {
  try {
    return await client.workflow.getHandle(runId).result();
  } catch (error) {
    if (error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure) return error.cause.details?.[0] as RolloutRecord;
    throw error;
  }
}

export async function startRollout(harness: EngineHarness, input: RolloutRunInput): Promise<string> {
  const runId = uniqueId('rollout');
  await harness.client.workflow.start(ROLLOUT_WORKFLOW, { workflowId: runId, taskQueue: harness.taskQueue, args: [input] });
  return runId;
}

/** golive's HTTP server on the harness, with the rollout roles and these folders of plans, checklists and runbooks. */
export function startRolloutServer(harness: EngineHarness, identity: IdentityStore, dirs: { runbooksDir: string; rolloutsDir: string; checklistsDir: string }): Promise<HttpServer> {
  return startHttpServer(
    {
      store: harness.store, protection: createPgProtectionStore(harness.pool), identity, roles: createRoleDirectory(ROLLOUT_ROLES, identity),
      ...dirs, client: harness.client, pool: harness.pool, taskQueue: harness.taskQueue,
    },
    { host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }) },
  );
}
