import { CancellationScope, log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.ts';
import { drillRecord, measureDrill } from '../definitions/drill-measure.ts';
import { drillPlan } from '../definitions/protection-plans.ts';
import { registerControls } from './controls.ts';
import type { DrillRecord, DrillRunInput } from './definitions.ts';
import { PRESETS } from './presets.ts';
import { RunbookRun } from './runbook-run.ts';
import { finishWorkflow } from './runbook.ts';

type Activities = ReturnType<typeof createActivities>;
const { recordDrill } = proxyActivities<Activities>(PRESETS.bookkeeping);
const { notifyDrill } = proxyActivities<Activities>(PRESETS.notify);

/**
 * A restore-verification drill (definitions/protection-plans.ts has its steps). After the steps,
 * the measured RPO and RTO are judged against the runbook's objectives; the drill is recorded
 * whatever its outcome, then sent to the notifier.
 */
export async function drillWorkflow(input: DrillRunInput): Promise<DrillRecord> {
  const runId = workflowInfo().workflowId;
  const { objectives } = input.runbook.spec;
  const plan = drillPlan(input.runbook, runId, { freshBackup: input.freshBackup });
  const run = new RunbookRun({ ...input, runbook: plan }, runId, { kind: 'drill', verdict: (state) => measureDrill(state, objectives).breach });
  registerControls(run);
  await run.execute();
  const record = drillRecord(run.state, { trigger: input.trigger, objectives });
  // Recorded and announced also when the workflow was cancelled.
  await CancellationScope.nonCancellable(async () => {
    await recordDrill(record);
    try {
      await notifyDrill(record);
    } catch (error) {
      log.warn('the drill result could not be sent to the notifier; it is recorded and in the API', { runId, error: String(error) });
    }
  });
  await finishWorkflow(run.state, record);
  return record;
}
