import { DrillNotRecorded } from '../store/protection.ts';
import type { RunStore } from '../store/runs.ts';
import type { DrillRecord, RecordEventInput } from '../workflows/definitions.ts';
import { createActionActivities } from './catalog.ts';
import { businessFailure } from '../definitions/failures.ts';
import type { DrillNotice } from '../store/protection.ts';
import type { ActionDeps } from './types.ts';

export interface ActivityDeps {
  store: RunStore;
  actions: ActionDeps;
  /** Where finished drills are recorded (golive's Postgres), with where each was announced. */
  drills: {
    recordDrill(record: DrillRecord): Promise<void>;
    notice(runId: string): Promise<DrillNotice | undefined>;
    noticed(runId: string, notice: DrillNotice): Promise<void>;
  };
  /** Where drill results are announced: Slack when configured, else the log. */
  notifier: { drillFinished(record: DrillRecord): Promise<DrillNotice> };
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
    /**
     * Announces a recorded drill once: a retry after the announcement was kept posts nothing.
     * A post that lands while the notice cannot be kept may be repeated by the retry.
     */
    async notifyDrill(record: DrillRecord): Promise<void> {
      if (await deps.drills.notice(record.runId)) return;
      const notice = await deps.notifier.drillFinished(record);
      try {
        await deps.drills.noticed(record.runId, notice);
      } catch (error) {
        if (error instanceof DrillNotRecorded) throw businessFailure(error.message, 'NotFound', error);
        throw error;
      }
    },
  };
}
