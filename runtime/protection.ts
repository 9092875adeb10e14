import type { Client } from '@temporalio/client';
import type { Runbook } from '../definitions/schema.ts';
import {
  BACKUP_WORKFLOW, DRILL_WORKFLOW,
  type Channel, type DrillRunInput, type ProtectionRunInput,
} from '../workflows/definitions.ts';
import { newRunId } from './runs.ts';
import { UserError } from './errors.ts';

/** Backups and drills started now; runtime/schedules.ts has their Temporal Schedules. */

export type ProtectionKind = 'backup' | 'drill';

export const WORKFLOW_TYPE = { backup: BACKUP_WORKFLOW, drill: DRILL_WORKFLOW } as const;

/** Refuses a runbook that does not say how to back up (or drill) its service. */
export function requireProtection(runbook: Runbook, kind: ProtectionKind, file: string): void {
  if (!runbook.spec.backup) {
    throw new UserError(`${file} has no spec.backup: add one naming the source database and the backup store (see README, "Backups and drills")`);
  }
  if (kind === 'drill' && !runbook.spec.drill) {
    throw new UserError(`${file} has no spec.drill: add one naming the server where drills restore (see README, "Backups and drills")`);
  }
}

export interface ProtectionStart {
  kind: ProtectionKind;
  runbook: Runbook;
  requestedBy: string;
  taskQueue: string;
  source: string;
  freshBackup?: boolean;
  /** How the requester reached golive (default cli; a schedule's runs are `schedule`). */
  channel?: Channel;
}

/** What a backup or drill workflow is started with, by a person or by a schedule. */
export function runInput(start: Omit<ProtectionStart, 'taskQueue'>, trigger: ProtectionRunInput['trigger']): DrillRunInput {
  const input: DrillRunInput = { runbook: start.runbook, requestedBy: start.requestedBy, channel: trigger === 'schedule' ? 'schedule' : start.channel ?? 'cli', source: start.source, trigger };
  if (start.kind === 'drill' && start.freshBackup) input.freshBackup = true;
  return input;
}

/** Starts a backup or drill now; returns its run id. */
export async function startProtectionRun(client: Client, start: ProtectionStart): Promise<string> {
  requireProtection(start.runbook, start.kind, start.source);
  const runId = newRunId(`${start.runbook.metadata.name}-${start.kind}`);
  await client.workflow.start(WORKFLOW_TYPE[start.kind], { workflowId: runId, taskQueue: start.taskQueue, args: [runInput(start, 'manual')] });
  return runId;
}
