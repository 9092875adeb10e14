import { resolve } from 'node:path';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleDescription, type ScheduleOptions } from '@temporalio/client';
import { loadRunbook } from '../definitions/load.ts';
import type { RoleDirectory } from '../definitions/roles.ts';
import type { Runbook } from '../definitions/schema.ts';
import { FAILOVER_WORKFLOW, SCHEDULED_RUN_WORKFLOW, type ScheduledRunInput } from '../workflows/definitions.ts';
import { NotFoundError, UserError } from './errors.ts';
import { failoverInput, requireIncidentCommander } from './failovers.ts';
import { requireProtection, runInput, WORKFLOW_TYPE, type ProtectionKind } from './protection.ts';
import { firstSchedule, KIND_NOUN, scheduleCommand, type ScheduleControl, type ScheduleKind } from './schedule-kinds.ts';
import { describeSchedule, kindOf, pinnedEnvironment, pinnedRun } from './schedule-views.ts';

/**
 * golive's schedules: one Temporal Schedule per runbook and kind (backups, restore drills, failover
 * drills), found, created and updated; runtime/schedule-views.ts lists them.
 */

/** `drill-orders-backup-restore`, `failover-drill-orders-warm-standby`: one schedule per runbook and kind. */
export function scheduleId(kind: ScheduleKind, runbookName: string): string {
  return `${kind}-${runbookName}`;
}

/** A golive schedule, and what Temporal says of it now. */
export interface FoundSchedule {
  scheduleId: string;
  kind: ScheduleKind;
  description: ScheduleDescription;
}

/** Schedule ids and runbook names are lower-case letters, digits and dashes: anything else names a runbook file. */
const isFile = (typed: string) => /[^a-z0-9-]/.test(typed);

/** The schedules `typed` may mean: the schedule of a runbook file, an id as listed, or a runbook name. */
async function candidates(kind: ScheduleKind, typed: string): Promise<{ ids: string[]; shown: string }> {
  if (!isFile(typed)) return { ids: [...new Set([typed, scheduleId(kind, typed)])], shown: typed };
  const id = scheduleId(kind, (await loadRunbook(typed)).metadata.name);
  return { ids: [id], shown: `${id} (the ${kind} schedule of ${typed})` };
}

/**
 * The schedule of `kind` that `typed` means (a schedule id, a runbook name or a runbook file). A schedule
 * of another kind is refused naming the command that controls it; none is NotFoundError listing those there are.
 */
export async function findSchedule(client: Client, kind: ScheduleKind, typed: string, control: ScheduleControl): Promise<FoundSchedule> {
  const { ids, shown } = await candidates(kind, typed);
  const found = (await Promise.all(ids.map(async (id) => ({ id, description: await describeSchedule(client, id) })))).flatMap(({ id, description }) => {
    const foundKind = kindOf(description?.memo);
    return description && foundKind ? [{ scheduleId: id, kind: foundKind, description }] : [];
  });
  const wanted = found.find((schedule) => schedule.kind === kind);
  if (wanted) return wanted;
  const other = found[0];
  if (other) {
    throw new UserError(`${other.scheduleId} is a ${other.kind} schedule and \`${scheduleCommand(kind, control)}\` acts only on ${kind} schedules; nothing changed. Use \`${scheduleCommand(other.kind, control)} ${other.scheduleId}\``);
  }
  throw new NotFoundError(`no ${kind} schedule ${shown}; ${await existingSchedules(client, kind)}`);
}

const LISTED_IN_MESSAGES = 10;

/** "the drill schedules are drill-a, drill-b", for a message about one that is not there. */
async function existingSchedules(client: Client, kind: ScheduleKind): Promise<string> {
  const ids: string[] = [];
  for await (const summary of client.schedule.list()) if (kindOf(summary.memo) === kind) ids.push(summary.scheduleId);
  if (ids.length === 0) return `there are no ${kind} schedules yet: create one with \`${firstSchedule(kind)}\``;
  const shown = ids.sort().slice(0, LISTED_IN_MESSAGES).join(', ');
  const more = ids.length > LISTED_IN_MESSAGES ? ` and ${ids.length - LISTED_IN_MESSAGES} more` : '';
  return `the ${kind} schedules are ${shown}${more} (\`${scheduleCommand(kind, 'schedules')}\` lists them)`;
}

/** What `schedule` sets. Each one not given again is kept from the schedule as it was. */
export interface ScheduleSettings {
  cron?: string;
  timezone?: string;
  /** A restore drill takes a new backup first. */
  freshBackup?: boolean;
  /** A failover drill's drill environment: given every time, a schedule never fails production over. */
  environment?: string;
  /** A failover drill's reason, when not the default one. */
  reason?: string;
}

interface ScheduleTarget {
  runbook: Runbook;
  /** A failover drill's incident commander, who creates or changes the schedule and whose role every run checks again. */
  requestedBy: string;
  taskQueue: string;
  /** The runbook file, kept as an absolute path to check for drift. */
  source: string;
}

/** A backup or restore-drill schedule, or a failover-drill schedule, which needs the role directory to check its requester. */
export type ScheduleRequest = ScheduleSettings & ScheduleTarget & ({ kind: ProtectionKind } | { kind: 'failover-drill'; roles: RoleDirectory });

export interface ScheduleAnswer {
  scheduleId: string;
  created: boolean;
  /** The settings not given this time, kept from the schedule as it was. */
  kept: ScheduleSettings;
  nextRuns: Date[];
}

/** The reason of a scheduled failover drill that was given none. */
export const scheduledDrillReason = (environment: string) => `scheduled failover drill (environment ${environment})`;

function settingsOf(description: ScheduleDescription): ScheduleSettings {
  const crons = (description.spec.calendars ?? []).map((calendar) => calendar.comment);
  const run = pinnedRun(description.action.args);
  const environment = pinnedEnvironment(run);
  const reason = typeof run?.reason === 'string' && environment !== undefined && run.reason !== scheduledDrillReason(environment) ? run.reason : undefined;
  return {
    cron: crons.length === 1 ? crons[0] : undefined,
    timezone: description.spec.timezone,
    freshBackup: run?.freshBackup === true || undefined,
    environment,
    reason,
  };
}

const SETTINGS = ['cron', 'timezone', 'freshBackup', 'environment', 'reason'] as const;

/** Given settings replace the previous ones; the rest of `keys` are kept, and said so when they were set. */
export function settle<T extends object>(given: T, previous: T, keys: readonly (keyof T)[]): { settings: Partial<T>; kept: Partial<T> } {
  const settings: Partial<T> = {};
  const kept: Partial<T> = {};
  for (const key of keys) {
    settings[key] = given[key];
    if (given[key] !== undefined || previous[key] === undefined) continue;
    settings[key] = previous[key];
    kept[key] = previous[key];
  }
  return { settings, kept };
}

export function checkCron(cron: string): void {
  const fields = cron.trim().split(/\s+/);
  if (!cron.trim().startsWith('@') && (fields.length < 5 || fields.length > 7)) {
    throw new UserError(`--cron "${cron}" is not a cron expression: give five fields like "0 3 * * *" (03:00 every day) or a macro like @daily`);
  }
}

/** A failover drill's environment: required, so that no schedule ever fails production over. */
function drillEnvironment(request: ScheduleRequest): string {
  if (request.environment !== undefined) return request.environment;
  const { name } = request.runbook.metadata;
  const known = Object.keys(request.runbook.spec.environments);
  const choose = known.length > 0 ? `one of ${name}'s drill environments: ${known.join(', ')}` : `a drill environment, which ${name} does not declare yet (add one under spec.environments)`;
  throw new UserError(`cannot schedule failover drills of ${name} without --environment: a scheduled failover of production makes no sense, so a schedule only drills against ${choose}; nothing changed`);
}

/** Refuses what a schedule of this kind may not start: a runbook that cannot back up or drill, a failover drill without environment or incident commander. */
async function authorize(request: ScheduleRequest): Promise<void> {
  if (request.kind !== 'failover-drill') return requireProtection(request.runbook, request.kind, request.source);
  drillEnvironment(request);
  await requireIncidentCommander(request.roles, request.requestedBy, `schedule failover drills of ${request.runbook.metadata.name}`);
}

/** What the schedule's action starts, pinned: the runbook (with a failover drill's environment applied) and who asked. */
function scheduledRun(request: ScheduleRequest, id: string): ScheduledRunInput {
  // The runbook is pinned here; its file is kept as an absolute path to check for drift.
  const source = resolve(request.source);
  if (request.kind !== 'failover-drill') {
    return { workflowType: WORKFLOW_TYPE[request.kind], run: runInput({ ...request, kind: request.kind, requestedBy: `schedule:${id}`, source }, 'schedule') };
  }
  const environment = drillEnvironment(request);
  const reason = request.reason ?? scheduledDrillReason(environment);
  return { workflowType: FAILOVER_WORKFLOW, run: failoverInput({ ...request, channel: 'schedule', source, environment, reason, trigger: 'schedule' }) };
}

function scheduleOptions(request: ScheduleRequest & { cron: string }): ScheduleOptions {
  const id = scheduleId(request.kind, request.runbook.metadata.name);
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
      args: [scheduledRun(request, id)],
    },
    // A run still going when the next is due: the next one is skipped, never run twice.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10 minutes' },
    // Memo is fixed at creation (updates cannot change it): only what never changes for this id.
    memo: { kind: request.kind, runbook: request.runbook.metadata.name, service: request.runbook.metadata.service },
  };
}

/** Creates the schedule, or updates it in place (same id) keeping the settings not given again. */
export async function upsertSchedule(client: Client, request: ScheduleRequest): Promise<ScheduleAnswer> {
  await authorize(request);
  const id = scheduleId(request.kind, request.runbook.metadata.name);
  const existing = await describeSchedule(client, id);
  const { settings, kept } = settle<ScheduleSettings>(request, existing ? settingsOf(existing) : {}, SETTINGS);
  const { cron } = settings;
  if (cron === undefined) throw new UserError(`cannot schedule ${KIND_NOUN[request.kind]} of ${request.runbook.metadata.name}: there is no schedule ${id} yet, so give --cron, like --cron "0 3 * * *" (03:00 every day)`);
  checkCron(cron);
  const settled = { ...request, ...settings, cron };
  const nextRuns = await writeSchedule(client, scheduleOptions(settled), { existing: existing !== undefined, what: `${KIND_NOUN[request.kind]} of ${request.runbook.metadata.name}`, ...settled });
  return { scheduleId: id, created: !existing, kept, nextRuns };
}

/**
 * Creates the schedule, or updates the one there in place (its memo stays: updates cannot change
 * it); the next three times it fires. A bad cron or time zone, and a schedule created by someone
 * else meanwhile, are the caller's errors naming `what` was being scheduled.
 */
export async function writeSchedule(client: Client, options: ScheduleOptions, request: { existing: boolean; what: string; cron: string; timezone?: string }): Promise<Date[]> {
  const handle = client.schedule.getHandle(options.scheduleId);
  try {
    if (request.existing) await handle.update((previous) => ({ ...previous, spec: options.spec, action: options.action, policies: options.policies }));
    else await client.schedule.create(options);
  } catch (error) {
    if (error instanceof ScheduleAlreadyRunning) throw new UserError(`schedule ${options.scheduleId} was created by someone else while this command ran; nothing changed here: run it again to update it`);
    if (refusedArgument(error)) {
      throw new UserError(`cannot schedule ${request.what}: Temporal refused --cron "${request.cron}"${request.timezone ? ` --timezone ${request.timezone}` : ''}: ${error instanceof Error ? error.message : String(error)}`);
    }
    throw error;
  }
  const description = await handle.describe();
  return description.info.nextActionTimes.slice(0, 3);
}

/** gRPC INVALID_ARGUMENT: the server refused what the user gave (cron, time zone). */
const INVALID_ARGUMENT = 3;

/** The SDK refuses an unknown time zone with a TypeError; the server refuses a bad cron with INVALID_ARGUMENT. */
function refusedArgument(error: unknown): boolean {
  const code = (value: unknown) => (typeof value === 'object' && value !== null && 'code' in value ? value.code : undefined);
  return error instanceof TypeError || code(error) === INVALID_ARGUMENT || (error instanceof Error && code(error.cause) === INVALID_ARGUMENT);
}
