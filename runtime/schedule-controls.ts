import { setTimeout as sleep } from 'node:timers/promises';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, WorkflowNotFoundError, type Client, type ScheduleDescription } from '@temporalio/client';
import type { RoleDirectory } from '../definitions/roles.ts';
import type { Actor } from '../store/identity.ts';
import type { ScheduleNotes } from '../store/schedule-notes.ts';
import { ControlConflict, NotFoundError } from './errors.ts';
import { requireIncidentCommander } from './failovers.ts';
import { scheduleCommand, type ScheduleControl, type ScheduleKind } from './schedule-kinds.ts';
import { scheduledRuns } from './schedule-views.ts';
import { findSchedule, type FoundSchedule } from './schedules.ts';

/** Pausing, unpausing, triggering and deleting golive's schedules, each kept with its note in golive's audit trail. */

export { SCHEDULE_CONTROLS, type ScheduleControl } from './schedule-kinds.ts';

export interface ScheduleControlRequest {
  kind: ScheduleKind;
  /** A schedule id as listed, a runbook name or a runbook file. */
  schedule: string;
  control: ScheduleControl;
  actor: Actor;
  /** Why, in the actor's words. */
  comment?: string;
  /** Trigger a paused schedule anyway. */
  force?: boolean;
  /** Who holds which role: a failover-drill schedule is changed only by an incident commander. */
  roles?: RoleDirectory;
}

export interface ScheduleControlAnswer {
  scheduleId: string;
  control: ScheduleControl;
  actor: string;
  note?: string;
  /** A paused schedule triggered with --force. */
  forced?: boolean;
  /** The run a trigger started, once it is there. */
  runId?: string;
}

/** Applies a control on Temporal; `note` becomes the schedule's note on pause and unpause. */
export async function applyControl(client: Client, id: string, control: ScheduleControl, note: string): Promise<void> {
  const handle = client.schedule.getHandle(id);
  try {
    if (control === 'pause') await handle.pause(note);
    else if (control === 'unpause') await handle.unpause(note);
    else if (control === 'trigger') await handle.trigger(ScheduleOverlapPolicy.SKIP);
    else await handle.delete();
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) throw new NotFoundError(`no schedule ${id}: it was deleted meanwhile; nothing changed`);
    throw error;
  }
}

/** A trigger the schedule would skip (its run has not finished), or one its pause says not to start: refused, nothing changed. */
function refuseTrigger({ scheduleId: id, kind, description }: FoundSchedule, force: boolean): void {
  const running = scheduledRuns(description).running[0];
  if (running) {
    throw new ControlConflict(`cannot trigger ${id}: its run ${running} has not finished and a schedule starts one run at a time; nothing changed. Follow that run with \`golive status ${running}\``);
  }
  if (description.state.paused && !force) {
    const note = description.state.note ? ` (${description.state.note})` : '';
    throw new ControlConflict(`cannot trigger ${id}: it is paused${note} and starts no runs until unpaused; nothing changed. Unpause it with \`${scheduleCommand(kind, 'unpause')} ${id}\`, or start one run anyway with \`${scheduleCommand(kind, 'trigger')} ${id} --force\``);
  }
}

/**
 * Finds the schedule the user meant, refuses what its state does not allow, applies the control and
 * keeps who, when and why in golive's audit trail (in one transaction: a control that fails leaves no note).
 */
export async function controlSchedule(client: Client, notes: ScheduleNotes, request: ScheduleControlRequest): Promise<ScheduleControlAnswer> {
  const { control, actor, comment } = request;
  const found = await findSchedule(client, request.kind, request.schedule, control);
  if (found.kind === 'failover-drill') await mayChangeFailoverDrill(request, found.scheduleId);
  if (control === 'trigger') refuseTrigger(found, request.force === true);
  const forced = control === 'trigger' && found.description.state.paused ? true : undefined;
  const earlier = new Set(runIds(found.description));
  const temporalNote = `${control} by ${actor.name}${comment ? `: ${comment}` : ''}`;
  await notes.record({ scheduleId: found.scheduleId, control, note: comment, forced }, actor, () => applyControl(client, found.scheduleId, control, temporalNote));
  const runId = control === 'trigger' ? await triggeredRun(client, found.scheduleId, earlier) : undefined;
  return { scheduleId: found.scheduleId, control, actor: actor.name, note: comment, forced, runId };
}

/** A failover-drill schedule starts failovers as the incident commander who made it: only an incident commander changes it. */
async function mayChangeFailoverDrill({ roles, actor, control }: ScheduleControlRequest, id: string): Promise<void> {
  if (!roles) throw new Error(`cannot check who may ${control} ${id}: no role directory was given`);
  await requireIncidentCommander(roles, actor.name, `${control} failover drill schedule ${id}`);
}

const runIds = (description: ScheduleDescription) => {
  const { recent, running } = scheduledRuns(description);
  return [...recent.map((run) => run.runId), ...running];
};

/** How long a trigger waits for its run to start before it answers without the run id. */
const TRIGGER_WAIT_MS = 15_000;

/** The run a trigger started, once Temporal has it (so `golive status` finds it); undefined when it did not start in time. */
async function triggeredRun(client: Client, id: string, earlier: ReadonlySet<string>): Promise<string | undefined> {
  const deadline = Date.now() + TRIGGER_WAIT_MS;
  while (Date.now() < deadline) {
    const description = await client.schedule.getHandle(id).describe().catch(() => undefined);
    const runId = description && runIds(description).find((known) => !earlier.has(known));
    if (runId && (await runExists(client, runId))) return runId;
    await sleep(200);
  }
  return undefined;
}

async function runExists(client: Client, runId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(runId).describe();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}
