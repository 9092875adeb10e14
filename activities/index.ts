import type { RunStore } from '../store/runs.ts';
import type { DrillRecord, RecordEventInput } from '../workflows/definitions.ts';
import { createActionActivities } from './actions.ts';
import type { ActionDeps } from './types.ts';

export interface ActivityDeps {
  store: RunStore;
  actions: ActionDeps;
  /** Where finished drills are recorded (golive's Postgres). */
  drills: { recordDrill(record: DrillRecord): Promise<void> };
  /** Where drill results are announced: Slack when configured, else the log. */
  notifier: { drillFinished(record: DrillRecord): Promise<unknown> };
}

/** Every activity the worker registers: one per catalog action, plus the runs' own bookkeeping. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createActionActivities(deps.actions),
    /** Writes an audit event and the run's state; idempotent by (runId, seq). */
    async recordEvent(input: RecordEventInput): Promise<void> {
      await deps.store.record(input);
    },
    /** Writes a finished drill; idempotent by run id. */
    async recordDrill(record: DrillRecord): Promise<void> {
      await deps.drills.recordDrill(record);
    },
    async notifyDrill(record: DrillRecord): Promise<void> {
      await deps.notifier.drillFinished(record);
    },
  };
}
