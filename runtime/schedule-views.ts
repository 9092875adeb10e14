import { existsSync } from 'node:fs';
import { ScheduleNotFoundError, type Client, type ScheduleDescription } from '@temporalio/client';
import { inEnvironment } from '../definitions/failover.ts';
import { loadDefinition } from '../definitions/load.ts';
import type { ScheduleNote } from '../store/schedule-notes.ts';
import { SCHEDULED_RUN_WORKFLOW, scheduledRunId } from '../workflows/definitions.ts';
import { isScheduleKind, type ScheduleKind } from './schedule-kinds.ts';

/** Reading golive's schedules: what Temporal says of each, the run it pinned, the runs it started. */

export async function describeSchedule(client: Client, id: string): Promise<ScheduleDescription | undefined> {
  try {
    return await client.schedule.getHandle(id).describe();
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) return undefined;
    throw error;
  }
}

/** The kind golive wrote into the schedule's memo; undefined for a schedule golive did not create. */
export function kindOf(memo: Record<string, unknown> | undefined): ScheduleKind | undefined {
  const kind = memo?.kind;
  return isScheduleKind(kind) ? kind : undefined;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** The run input a schedule pins: its action's argument (inside the ScheduledRunInput of schedules made since it exists). */
export function pinnedRun(args: readonly unknown[] | undefined): Record<string, unknown> | undefined {
  const first = args?.[0];
  if (!isRecord(first)) return undefined;
  return isRecord(first.run) ? first.run : first;
}

/** The drill environment a failover-drill schedule pinned; undefined for other schedules. */
export function pinnedEnvironment(run: Record<string, unknown> | undefined): string | undefined {
  const drill = run?.drill;
  return isRecord(drill) && typeof drill.environment === 'string' ? drill.environment : undefined;
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
  kind: ScheduleKind;
  runbook: string;
  service: string;
  cron: string;
  timezone?: string;
  paused: boolean;
  /** Temporal's note: the last pause or unpause, who and why. */
  note?: string;
  /** A failover drill's drill environment. */
  environment?: string;
  /** A failover drill's requester: the incident commander who scheduled it, whose role the worker checks at every run. */
  runsAs?: string;
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

/** The schedules golive created (of every kind when `kind` is not given), with next run and the last run started. */
export async function listSchedules(client: Client, kind?: ScheduleKind): Promise<ScheduleView[]> {
  const views: ScheduleView[] = [];
  for await (const summary of client.schedule.list()) {
    const summaryKind = kindOf(summary.memo);
    if (!summaryKind || (kind && summaryKind !== kind)) continue;
    const described = await describeSchedule(client, summary.scheduleId);
    if (described) views.push(await scheduleView(summaryKind, described));
  }
  return views.sort((left, right) => left.scheduleId.localeCompare(right.scheduleId));
}

async function scheduleView(kind: ScheduleKind, described: ScheduleDescription): Promise<ScheduleView> {
  const { recent, running } = scheduledRuns(described);
  const pinned = pinnedRun(described.action.args);
  const failover = kind === 'failover-drill' ? { environment: pinnedEnvironment(pinned), runsAs: typeof pinned?.requestedBy === 'string' ? pinned.requestedBy : undefined } : {};
  return {
    scheduleId: described.scheduleId,
    kind,
    runbook: String(described.memo?.runbook ?? ''),
    service: String(described.memo?.service ?? ''),
    cron: (described.spec.calendars ?? []).map((calendar) => calendar.comment ?? '(calendar)').join(' | '),
    timezone: described.spec.timezone,
    paused: described.state.paused,
    note: described.state.note,
    ...failover,
    nextRun: described.info.nextActionTimes[0]?.toISOString(),
    lastRun: recent.at(-1),
    running,
    definition: await definitionDrift(pinned),
  };
}

export type DefinitionDrift = 'as scheduled' | 'changed since scheduled' | 'file missing' | 'file invalid';

/**
 * A schedule runs the runbook as it was when scheduled. When its file has changed since, drills
 * judge by old objectives and stores while posture reads the new file: say so. A failover drill
 * pinned the runbook with its drill environment applied, and is compared so.
 */
async function definitionDrift(pinned: Record<string, unknown> | undefined): Promise<DefinitionDrift> {
  if (typeof pinned?.source !== 'string' || !('runbook' in pinned) || !existsSync(pinned.source)) return 'file missing';
  const current = await loadDefinition(pinned.source);
  if (!current.ok || current.kind !== 'Runbook') return 'file invalid';
  const environment = pinnedEnvironment(pinned);
  if (environment !== undefined && !(environment in current.definition.spec.environments)) return 'changed since scheduled';
  const expected = environment === undefined ? current.definition : inEnvironment(current.definition, environment);
  return JSON.stringify(expected) === JSON.stringify(pinned.runbook) ? 'as scheduled' : 'changed since scheduled';
}
