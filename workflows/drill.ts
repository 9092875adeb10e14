import { CancellationScope, log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.ts';
import { drillRecord, measureDrill } from '../definitions/drill-measure.ts';
import { drillPlan } from '../definitions/protection-plans.ts';
import { registerControls } from './controls.ts';
import type { DrillRecord, DrillRunInput } from './definitions.ts';
import { PRESETS } from './presets.ts';
import { RunbookRun } from './runbook-run.ts';
import { closeRun, finishWorkflow } from './runbook.ts';

type Activities = ReturnType<typeof createActivities>;
const { notifyDrill } = proxyActivities<Activities>(PRESETS.notify);

/**
 * A restore-verification drill (definitions/protection-plans.ts has its steps). After the steps,
 * the measured RPO and RTO are judged against the runbook's objectives; the drill is recorded
 * with the run's last audit events whatever its outcome, then sent to the notifier.
 */
export async function drillWorkflow(input: DrillRunInput): Promise<DrillRecord> {
  const runId = workflowInfo().workflowId;
  const { objectives } = input.runbook.spec;
  const plan = drillPlan(input.runbook, runId, { freshBackup: input.freshBackup });
  const run = new RunbookRun({ ...input, runbook: plan }, runId, { kind: 'drill', verdict: (state) => measureDrill(state, objectives).breach });
  registerControls(run);
  await run.execute();
  const record = drillRecord(run.state, { trigger: input.trigger, objectives });
  run.projection.appendDrill(record);
  // The service's channel when its runbook names one, else the run's; with neither, the worker's GOLIVE_SLACK_CHANNEL.
  const channel = input.runbook.metadata.slack?.channel ?? input.slackChannel;
  // Recorded and announced also when the workflow was cancelled; when golive's Postgres is
  // away, the catch-up workflow records it and announces it afterwards.
  if (await closeRun(run, record, channel)) {
    await CancellationScope.nonCancellable(async () => {
      try {
        await notifyDrill(record, channel);
      } catch (error) {
        log.warn('the drill result could not be sent to the notifier; it is recorded and in the API', { runId, error: String(error) });
      }
    });
  }
  finishWorkflow(run.state, record);
  return record;
}
