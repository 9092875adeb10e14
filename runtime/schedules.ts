import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy,
  type Client, type ScheduleDescription, type ScheduleOptions,
} from '@temporalio/client';
import { loadDefinition, loadRunbook } from '../definitions/load.ts';
import type { ScheduleNote } from '../store/schedule-notes.ts';
import { SCHEDULED_RUN_WORKFLOW, scheduledRunId, type ScheduledRunInput } from '../workflows/definitions.ts';
import { NotFoundError, UserError } from './errors.ts';
import { requireProtection, runInput, WORKFLOW_TYPE, type ProtectionKind, type ProtectionStart } from './protection.ts';

/** Backup and drill schedules: one Temporal Schedule per runbook and kind, found, created, updated and listed. */

/** `drill-orders-backup-restore`: one schedule per runbook and kind. */
export function scheduleId(kind: ProtectionKind, runbookName: string): string {
  return `${kind}-${runbookName}`;
}

/** A golive schedule, and what Temporal says of it now. */
export interface FoundSchedule {
  scheduleId: string;
  kind: ProtectionKind;
  description: ScheduleDescription;
}

async function describeSchedule(client: Client, id: string): Promise<ScheduleDescription | undefined> {
  try {
    return await client.schedule.getHandle(id).describe();
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) return undefined;
    throw error;
  }
}

/** The kind golive wrote into the schedule's memo; undefined for a schedule golive did not create. */
function kindOf(memo: Record<string, unknown> | undefined): ProtectionKind | undefined {
  const kind = memo?.kind;
  return kind === 'backup' || kind === 'drill' ? kind : undefined;
}

/** Schedule ids and runbook names are lower-case letters, digits and dashes: anything else names a runbook file. */
const isFile = (typed: string) => /[^a-z0-9-]/.test(typed);

/** The schedules `typed` may mean: the schedule of a runbook file, an id as listed, or a runbook name. */
async function candidates(kind: ProtectionKind, typed: string): Promise<{ ids: string[]; shown: string }> {
  if (!isFile(typed)) return { ids: [...new Set([typed, scheduleId(kind, typed)])], shown: typed };
  const id = scheduleId(kind, (await loadRunbook(typed)).metadata.name);
  return { ids: [id], shown: `${id} (the ${kind} schedule of ${typed})` };
}

/**
 * The schedule of `kind` that `typed` means (a schedule id, a runbook name or a runbook file). A schedule
 * of the other kind is refused naming the command that controls it; none is NotFoundError listing those there are.
 */
export async function findSchedule(client: Client, kind: ProtectionKind, typed: string, command: string): Promise<FoundSchedule> {
  const { ids, shown } = await candidates(kind, typed);
  const found = (await Promise.all(ids.map(async (id) => ({ id, description: await describeSchedule(client, id) })))).flatMap(({ id, description }) => {
    const foundKind = kindOf(description?.memo);
    return description && foundKind ? [{ scheduleId: id, kind: foundKind, description }] : [];
  });
  const wanted = found.find((schedule) => schedule.kind === kind);
  if (wanted) return wanted;
  const other = found[0];
  if (other) {
    throw new UserError(`${other.scheduleId} is a ${other.kind} schedule and \`golive ${kind} ${command}\` acts only on ${kind} schedules; nothing changed. Use \`golive ${other.kind} ${command} ${other.scheduleId}\``);
  }
  throw new NotFoundError(`no ${kind} schedule ${shown}; ${await existingSchedules(client, kind)}`);
}

const LISTED_IN_MESSAGES = 10;

/** "the drill schedules are drill-a, drill-b", for a message about one that is not there. */
async function existingSchedules(client: Client, kind: ProtectionKind): Promise<string> {
  const ids: string[] = [];
  for await (const summary of client.schedule.list()) if (kindOf(summary.memo) === kind) ids.push(summary.scheduleId);
  if (ids.length === 0) return `there are no ${kind} schedules yet: create one with \`golive ${kind} schedule RUNBOOK --cron "0 3 * * *"\``;
  const shown = ids.sort().slice(0, LISTED_IN_MESSAGES).join(', ');
  const more = ids.length > LISTED_IN_MESSAGES ? ` and ${ids.length - LISTED_IN_MESSAGES} more` : '';
  return `the ${kind} schedules are ${shown}${more} (\`golive ${kind} schedules\` lists them)`;
}

/** What `schedule` sets. Each one not given again is kept from the schedule as it was. */
export interface ScheduleSettings {
  cron?: string;
  timezone?: string;
  freshBackup?: boolean;
}

export interface ScheduleRequest extends ProtectionStart, ScheduleSettings {}

export interface ScheduleAnswer {
  scheduleId: string;
  created: boolean;
  /** The settings not given this time, kept from the schedule as it was. */
  kept: ScheduleSettings;
  nextRuns: Date[];
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** The run input a schedule pins: its action's argument (inside the ScheduledRunInput of schedules made since it exists). */
function pinnedRun(args: readonly unknown[] | undefined): Record<string, unknown> | undefined {
  const first = args?.[0];
  if (!isRecord(first)) return undefined;
  return isRecord(first.run) ? first.run : first;
}

function settingsOf(description: ScheduleDescription): ScheduleSettings {
  const crons = (description.spec.calendars ?? []).map((calendar) => calendar.comment);
  return {
    cron: crons.length === 1 ? crons[0] : undefined,
    timezone: description.spec.timezone,
    freshBackup: pinnedRun(description.action.args)?.freshBackup === true || undefined,
  };
}

/** Given settings replace the previous ones; the rest are kept, and said so when they were set. */
function settle(given: ScheduleSettings, previous: ScheduleSettings): { settings: ScheduleSettings; kept: ScheduleSettings } {
  const settings: ScheduleSettings = { cron: given.cron, timezone: given.timezone, freshBackup: given.freshBackup };
  const kept: ScheduleSettings = {};
  const keep = <K extends keyof ScheduleSettings>(key: K) => {
    if (given[key] !== undefined || previous[key] === undefined) return;
    settings[key] = previous[key];
    kept[key] = previous[key];
  };
  keep('cron');
  keep('timezone');
  keep('freshBackup');
  return { settings, kept };
}

function checkCron(cron: string): void {
  const fields = cron.trim().split(/\s+/);
  if (!cron.trim().startsWith('@') && (fields.length < 5 || fields.length > 7)) {
    throw new UserError(`--cron "${cron}" is not a cron expression: give five fields like "0 3 * * *" (03:00 every day) or a macro like @daily`);
  }
}

function scheduleOptions(request: ScheduleRequest & { cron: string }): ScheduleOptions {
  const id = scheduleId(request.kind, request.runbook.metadata.name);
  const run: ScheduledRunInput = {
    workflowType: WORKFLOW_TYPE[request.kind],
    // The runbook is pinned here; its file is kept as an absolute path to check for drift.
    run: runInput({ ...request, requestedBy: `schedule:${id}`, source: resolve(request.source) }, 'schedule'),
  };
  return {
    scheduleId: id,
    // The comment comes back on describe, so `drill schedules` can show the expression as written.
    spec: { cronExpressions: [`${request.cron} #${request.cron}`], timezone: request.timezone },
    action: {
      type: 'startWorkflow',
      // Temporal appends the scheduled time to this id; the workflow starts the run under a colon-free id (scheduledRunId).
      workflowType: SCHEDULED_RUN_WORKFLOW,
      workflowId: `${request.runbook.metadata.name}-${request.kind}`,
      taskQueue: request.taskQueue,
      args: [run],
    },
    // A run still going when the next is due: the next one is skipped, never run twice.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10 minutes' },
    // Memo is fixed at creation (updates cannot change it): only what never changes for this id.
    memo: { kind: request.kind, runbook: request.runbook.metadata.name, service: request.runbook.metadata.service },
  };
}

/** Creates the schedule, or updates it in place (same id) keeping the settings not given again. */
export async function upsertSchedule(client: Client, request: ScheduleRequest): Promise<ScheduleAnswer> {
  requireProtection(request.runbook, request.kind, request.source);
  const id = scheduleId(request.kind, request.runbook.metadata.name);
  const existing = await describeSchedule(client, id);
  const { settings, kept } = settle(request, existing ? settingsOf(existing) : {});
  const { cron } = settings;
  if (cron === undefined) throw new UserError(`cannot schedule ${request.kind}s of ${request.runbook.metadata.name}: there is no schedule ${id} yet, so give --cron, like --cron "0 3 * * *" (03:00 every day)`);
  checkCron(cron);
  const settled = { ...request, ...settings, cron };
  const options = scheduleOptions(settled);
  const handle = client.schedule.getHandle(id);
  try {
    if (existing) await handle.update((previous) => ({ ...previous, spec: options.spec, action: options.action, policies: options.policies }));
    else await client.schedule.create(options);
  } catch (error) {
    if (error instanceof ScheduleAlreadyRunning) throw new UserError(`schedule ${id} was created by someone else while this command ran; nothing changed here: run it again to update it`);
    throw invalidSchedule(error, settled);
  }
  const description = await handle.describe();
  return { scheduleId: id, created: !existing, kept, nextRuns: description.info.nextActionTimes.slice(0, 3) };
}

/** gRPC INVALID_ARGUMENT: the server refused what the user gave (cron, time zone). */
const INVALID_ARGUMENT = 3;

/** The SDK refuses an unknown time zone with a TypeError; the server refuses a bad cron with INVALID_ARGUMENT. */
function refusedArgument(error: unknown): boolean {
  const code = (value: unknown) => (typeof value === 'object' && value !== null && 'code' in value ? value.code : undefined);
  return error instanceof TypeError || code(error) === INVALID_ARGUMENT || (error instanceof Error && code(error.cause) === INVALID_ARGUMENT);
}

function invalidSchedule(error: unknown, request: ScheduleRequest & { cron: string }): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (refusedArgument(error)) {
    return new UserError(`cannot schedule ${request.kind}s of ${request.runbook.metadata.name}: Temporal refused --cron "${request.cron}"${request.timezone ? ` --timezone ${request.timezone}` : ''}: ${message}`);
  }
  return error instanceof Error ? error : new Error(message);
}

/** golive's run ids of the runs a schedule started: the recent ones, oldest first, and those still going. */
export function scheduledRuns(description: ScheduleDescription): { recent: Array<{ runId: string; at: string }>; running: string[] } {
  const launched = description.action.workflowType === SCHEDULED_RUN_WORKFLOW;
  // Schedules made before SCHEDULED_RUN_WORKFLOW existed started the run itself, under Temporal's id.
  const runIdOf = ({ workflowId, firstExecutionRunId }: { workflowId: string; firstExecutionRunId: string }) =>
    (launched ? scheduledRunId(workflowId, firstExecutionRunId) : workflowId);
  return {
    recent: description.info.recentActions.flatMap((taken) => ('workflow' in taken.action ? [{ runId: runIdOf(taken.action.workflow), at: taken.takenAt.toISOString() }] : [])),
    running: description.info.runningActions.flatMap((action) => ('workflow' in action ? [runIdOf(action.workflow)] : [])),
  };
}

export interface ScheduleView {
  scheduleId: string;
  kind: ProtectionKind;
  runbook: string;
  service: string;
  cron: string;
  timezone?: string;
  paused: boolean;
  /** Temporal's note: the last pause or unpause, who and why. */
  note?: string;
  nextRun?: string;
  lastRun?: { runId: string; at: string };
  /** Whether the runbook file still says what the schedule pinned. */
  definition: DefinitionDrift;
  /** passed / failed / running / … of the last run, filled in by the caller from its records. */
  lastResult?: string;
  running: string[];
  /** The newest controls and their notes, newest first, filled in by the caller from golive's records. */
  notes?: ScheduleNote[];
}

/** The backup or drill schedules golive created (both kinds when `kind` is not given), with next run and the last run started. */
export async function listSchedules(client: Client, kind?: ProtectionKind): Promise<ScheduleView[]> {
  const views: ScheduleView[] = [];
  for await (const summary of client.schedule.list()) {
    const summaryKind = kindOf(summary.memo);
    if (!summaryKind || (kind && summaryKind !== kind)) continue;
    const described = await describeSchedule(client, summary.scheduleId);
    if (described) views.push(await scheduleView(summaryKind, described));
  }
  return views.sort((left, right) => left.scheduleId.localeCompare(right.scheduleId));
}

async function scheduleView(kind: ProtectionKind, described: ScheduleDescription): Promise<ScheduleView> {
  const { recent, running } = scheduledRuns(described);
  return {
    scheduleId: described.scheduleId,
    kind,
    runbook: String(described.memo?.runbook ?? ''),
    service: String(described.memo?.service ?? ''),
    cron: (described.spec.calendars ?? []).map((calendar) => calendar.comment ?? '(calendar)').join(' | '),
    timezone: described.spec.timezone,
    paused: described.state.paused,
    note: described.state.note,
    nextRun: described.info.nextActionTimes[0]?.toISOString(),
    lastRun: recent.at(-1),
    running,
    definition: await definitionDrift(pinnedRun(described.action.args)),
  };
}

export type DefinitionDrift = 'as scheduled' | 'changed since scheduled' | 'file missing' | 'file invalid';

/**
 * A schedule runs the runbook as it was when scheduled. When its file has changed since, drills
 * judge by old objectives and stores while posture reads the new file: say so.
 */
async function definitionDrift(pinned: Record<string, unknown> | undefined): Promise<DefinitionDrift> {
  if (typeof pinned?.source !== 'string' || !('runbook' in pinned) || !existsSync(pinned.source)) return 'file missing';
  const current = await loadDefinition(pinned.source);
  if (!current.ok || current.kind !== 'Runbook') return 'file invalid';
  return JSON.stringify(current.definition) === JSON.stringify(pinned.runbook) ? 'as scheduled' : 'changed since scheduled';
}
