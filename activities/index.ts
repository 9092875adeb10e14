import type { RunStore } from '../store/runs.ts';
import type { RecordEventInput } from '../workflows/definitions.ts';
import { createActionActivities } from './actions.ts';
import type { ActionDeps } from './types.ts';

export interface ActivityDeps {
  store: RunStore;
  actions: ActionDeps;
}

/** Every activity the worker registers: one per catalog action, plus the run's own bookkeeping. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createActionActivities(deps.actions),
    /** Writes an audit event and the run's state; idempotent by (runId, seq). */
    async recordEvent(input: RecordEventInput): Promise<void> {
      await deps.store.record(input);
    },
  };
}
