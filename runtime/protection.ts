import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { loadDefinition } from '../definitions/load.ts';
import type { Runbook } from '../definitions/schema.ts';
import {
  BACKUP_WORKFLOW, DRILL_WORKFLOW,
  type DrillRunInput, type ProtectionRunInput,
} from '../workflows/definitions.ts';
import { newRunId } from './runs.ts';
import { UserError } from './errors.ts';

/** Backups and drills: starting them now, and their Temporal Schedules. */

export type ProtectionKind = 'backup' | 'drill';

const WORKFLOW_TYPE = { backup: BACKUP_WORKFLOW, drill: DRILL_WORKFLOW } as const;

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
}

function runInput(start: Omit<ProtectionStart, 'taskQueue'>, trigger: ProtectionRunInput['trigger']): DrillRunInput {
  const input: DrillRunInput = { runbook: start.runbook, requestedBy: start.requestedBy, channel: trigger === 'schedule' ? 'schedule' : 'cli', source: start.source, trigger };
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

/** `drill-orders-backup-restore`: one schedule per runbook and kind. */
export function scheduleId(kind: ProtectionKind, runbookName: string): string {
  return `${kind}-${runbookName}`;
}

export interface ScheduleRequest extends ProtectionStart {
  cron: string;
  timezone?: string;
}

function checkCron(cron: string): void {
  const fields = cron.trim().split(/\s+/);
  if (!cron.trim().startsWith('@') && (fields.length < 5 || fields.length > 7)) {
    throw new UserError(`--cron "${cron}" is not a cron expression: give five fields like "0 3 * * *" (03:00 every day) or a macro like @daily`);
  }
}

function scheduleOptions(request: ScheduleRequest): ScheduleOptions {
  const id = scheduleId(request.kind, request.runbook.metadata.name);
  return {
    scheduleId: id,
    // The comment comes back on describe, so `drill schedules` can show the expression as written.
    spec: { cronExpressions: [`${request.cron} #${request.cron}`], timezone: request.timezone },
    action: {
      type: 'startWorkflow',
      workflowType: WORKFLOW_TYPE[request.kind],
      // Temporal appends the scheduled time, so every run gets its own id.
      workflowId: `${request.runbook.metadata.name}-${request.kind}`,
      taskQueue: request.taskQueue,
      // The runbook is pinned here; its file is kept as an absolute path to check for drift.
      args: [runInput({ ...request, requestedBy: `schedule:${id}`, source: resolve(request.source) }, 'schedule')],
    },
    // A drill still running when the next is due: the next one is skipped, never run twice.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10 minutes' },
    // Memo is fixed at creation (updates cannot change it): only what never changes for this id.
    memo: { kind: request.kind, runbook: request.runbook.metadata.name, service: request.runbook.metadata.service },
  };
}

/** Creates the schedule, or updates it in place (same id) when it exists. */
export async function upsertSchedule(client: Client, request: ScheduleRequest): Promise<{ scheduleId: string; created: boolean; nextRuns: Date[] }> {
  requireProtection(request.runbook, request.kind, request.source);
  checkCron(request.cron);
  const options = scheduleOptions(request);
  let created = true;
  try {
    await client.schedule.create(options);
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw invalidSchedule(error, request);
    created = false;
    await client.schedule.getHandle(options.scheduleId).update((previous) => ({ ...previous, spec: options.spec, action: options.action, policies: options.policies }))
      .catch((updateError: unknown) => { throw invalidSchedule(updateError, request); });
  }
  const description = await client.schedule.getHandle(options.scheduleId).describe();
  return { scheduleId: options.scheduleId, created, nextRuns: description.info.nextActionTimes.slice(0, 3) };
}

/** gRPC INVALID_ARGUMENT: the server refused what the user gave (cron, time zone). */
const INVALID_ARGUMENT = 3;

/** The SDK refuses an unknown time zone with a TypeError; the server refuses a bad cron with INVALID_ARGUMENT. */
function refusedArgument(error: unknown): boolean {
  const code = (value: unknown) => (typeof value === 'object' && value !== null && 'code' in value ? value.code : undefined);
  return error instanceof TypeError || code(error) === INVALID_ARGUMENT || (error instanceof Error && code(error.cause) === INVALID_ARGUMENT);
}

function invalidSchedule(error: unknown, request: ScheduleRequest): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (refusedArgument(error)) {
    return new UserError(`cannot schedule ${request.kind}s of ${request.runbook.metadata.name}: Temporal refused --cron "${request.cron}"${request.timezone ? ` --timezone ${request.timezone}` : ''}: ${message}`);
  }
  return error instanceof Error ? error : new Error(message);
}

export interface ScheduleView {
  scheduleId: string;
  kind: string;
  runbook: string;
  service: string;
  cron: string;
  timezone?: string;
  paused: boolean;
  note?: string;
  nextRun?: string;
  lastRun?: { runId: string; at: string };
  /** Whether the runbook file still says what the schedule pinned. */
  definition: DefinitionDrift;
  /** passed / failed / running / … of the last run, filled in by the caller from its records. */
  lastResult?: string;
  running: string[];
}

/** Every backup and drill schedule golive created, with next run and the last run started. */
export async function listSchedules(client: Client): Promise<ScheduleView[]> {
  const views: ScheduleView[] = [];
  for await (const summary of client.schedule.list()) {
    const kind = summary.memo?.kind;
    if (kind !== 'backup' && kind !== 'drill') continue;
    const described = await client.schedule.getHandle(summary.scheduleId).describe();
    const last = described.info.recentActions.at(-1);
    views.push({
      scheduleId: summary.scheduleId,
      kind,
      runbook: String(summary.memo?.runbook ?? ''),
      service: String(summary.memo?.service ?? ''),
      cron: (described.spec.calendars ?? []).map((calendar) => calendar.comment ?? '(calendar)').join(' | '),
      timezone: described.spec.timezone,
      paused: described.state.paused,
      note: described.state.note,
      nextRun: described.info.nextActionTimes[0]?.toISOString(),
      lastRun: last && 'workflow' in last.action ? { runId: last.action.workflow.workflowId, at: last.takenAt.toISOString() } : undefined,
      running: described.info.runningActions.flatMap((action) => ('workflow' in action ? [action.workflow.workflowId] : [])),
      definition: await definitionDrift(described.action.args?.[0]),
    });
  }
  return views.sort((left, right) => left.scheduleId.localeCompare(right.scheduleId));
}

export type DefinitionDrift = 'as scheduled' | 'changed since scheduled' | 'file missing' | 'file invalid';

/**
 * A schedule runs the runbook as it was when scheduled. When its file has changed since, drills
 * judge by old objectives and stores while posture reads the new file: say so.
 */
async function definitionDrift(pinned: unknown): Promise<DefinitionDrift> {
  if (typeof pinned !== 'object' || pinned === null || !('source' in pinned) || typeof pinned.source !== 'string' || !('runbook' in pinned)) return 'file missing';
  if (!existsSync(pinned.source)) return 'file missing';
  const current = await loadDefinition(pinned.source);
  if (!current.ok || current.kind !== 'Runbook') return 'file invalid';
  return JSON.stringify(current.definition) === JSON.stringify(pinned.runbook) ? 'as scheduled' : 'changed since scheduled';
}

export type ScheduleControl = 'pause' | 'unpause' | 'trigger' | 'delete';

/** Pauses, unpauses, triggers (skipped if one is running) or deletes a schedule by id. */
export async function controlSchedule(client: Client, id: string, control: ScheduleControl, note: string): Promise<void> {
  const handle = client.schedule.getHandle(id);
  try {
    if (control === 'pause') await handle.pause(note);
    else if (control === 'unpause') await handle.unpause(note);
    else if (control === 'trigger') await handle.trigger(ScheduleOverlapPolicy.SKIP);
    else await handle.delete();
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) throw new UserError(`no schedule ${id}: list them with \`golive drill schedules\``);
    throw error;
  }
}

/** A schedule id from what the user typed: an id as listed, or a runbook name with the kind. */
export function resolveScheduleId(kind: ProtectionKind, nameOrId: string): string {
  return /^(backup|drill)-/.test(nameOrId) ? nameOrId : scheduleId(kind, nameOrId);
}
