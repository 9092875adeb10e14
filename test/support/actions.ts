import type { ActionName } from '../../definitions/actions.ts';
import type { Target } from '../../definitions/targets.ts';
import { createActionActivities } from '../../activities/catalog.ts';
import type { ActionDeps, ActionRequest } from '../../activities/types.ts';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import { uniqueId } from './db.ts';

/**
 * The action activities with the recorded toolchain's pg_dump and `env` as the worker's
 * environment; `worker` sets what the worker's configuration would (nginxBin, targetEnv).
 */
export function testActivities(env: ActionDeps['env'] = {}, worker: Pick<ActionDeps, 'nginxBin' | 'targetEnv'> = {}) {
  const pgBin = requireTool(loadToolchain({ pgBin: process.env.GOLIVE_PG_BIN }), 'pgBin');
  return createActionActivities({ env, pgBin, ...worker });
}

export interface RequestOptions {
  target?: { name: string; spec: Target };
  targets?: Record<string, Target>;
  runId?: string;
  stepId?: string;
}

/** A request as the workflow engine would send it for one step of a fresh run. */
export function actionRequest(action: ActionName, input: Record<string, unknown>, options: RequestOptions = {}): ActionRequest {
  const runId = options.runId ?? uniqueId('run');
  const stepId = options.stepId ?? action.replace(/\W/g, '-');
  return { runId, stepId, idempotencyKey: `${runId}:${stepId}`, target: options.target, targets: options.targets ?? {}, with: input };
}
