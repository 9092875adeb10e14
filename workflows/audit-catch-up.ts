import { log, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.ts';
import type { AuditCatchUpInput } from './definitions.ts';
import { PRESETS } from './presets.ts';

type Activities = ReturnType<typeof createActivities>;
const { projectRun } = proxyActivities<Activities>(PRESETS.projection);
const { notifyDrill } = proxyActivities<Activities>(PRESETS.notify);

/**
 * Writes the rest of a finished run's audit trail once golive's Postgres answers again (Temporal
 * retries the write on the server, so this history stays a few events long however long that
 * takes), then announces the drill the run could not announce.
 */
export async function auditCatchUpWorkflow(input: AuditCatchUpInput): Promise<void> {
  await projectRun(input.batch);
  if (!input.announce) return;
  try {
    await notifyDrill(input.announce, input.announceChannel);
  } catch (error) {
    log.warn('the drill result could not be sent to the notifier; it is recorded and in the API', { runId: input.announce.runId, error: String(error) });
  }
}
