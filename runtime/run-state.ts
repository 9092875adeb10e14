import type { RunFilter, RunStore, RunSummary } from '../store/runs.ts';
import { FINISHED, RUN_STATUSES, type RunState } from '../workflows/definitions.ts';
import { NotFoundError, UserError } from './errors.ts';

/** Asks an open run for its state; undefined when Temporal has no such workflow. */
export type StateQuery = (runId: string) => Promise<RunState | undefined>;

/** The answer to a run id golive does not know. */
export function unknownRun(runId: string): NotFoundError {
  return new NotFoundError(`no run ${runId}: list runs with \`golive runs\``);
}

/**
 * A run's state: what golive recorded for a finished run, else the live answer of the workflow,
 * else (Temporal no longer has it) the last state recorded.
 */
export async function readRunState(store: RunStore, runId: string, query: StateQuery): Promise<RunState> {
  const recorded = await store.getRun(runId);
  if (recorded && FINISHED.includes(recorded.status)) return recorded.state;
  const live = await query(runId).catch((error: unknown) => {
    if (recorded) return recorded.state;
    throw error;
  });
  if (live) return live;
  if (recorded) return recorded.state;
  throw unknownRun(runId);
}

/**
 * Recent runs, newest first, after checking the filter means something: a status golive does not
 * have, or a service it never ran anything for, is a mistake to name rather than an empty list.
 */
export async function listRuns(store: RunStore, filter: RunFilter): Promise<RunSummary[]> {
  if (filter.status !== undefined && !(RUN_STATUSES as readonly string[]).includes(filter.status)) {
    throw new UserError(`status: no status "${filter.status}"; one of ${RUN_STATUSES.join(', ')}`);
  }
  const runs = await store.listRuns(filter);
  if (runs.length === 0 && filter.service !== undefined) {
    const services = await store.services();
    if (!services.includes(filter.service)) {
      throw new UserError(`service: golive has no runs of a service "${filter.service}"; ${services.length > 0 ? `services with runs: ${services.join(', ')}` : 'no runs yet at all'}`);
    }
  }
  return runs;
}
