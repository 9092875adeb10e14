/**
 * Everything a client (CLI, HTTP API, Slack) needs to talk to runs: the query, the updates,
 * and the shapes they carry. Clients import this file, never the workflow code.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Role } from '../definitions/roles.ts';
import type { Runbook } from '../definitions/schema.ts';
import type { ChecklistRecord } from './checklist-definitions.ts';
import { waiveUpdate } from './checklist-definitions.ts';
import type { FAILOVER_WORKFLOW, FailoverRecord, FailoverRunInput } from './failover-definitions.ts';
import type { RolloutRecord } from './rollout-definitions.ts';
import type { DrillRecord } from './drill-definitions.ts';
import { promoteUpdate, rollbackUpdate } from './rollout-definitions.ts';

export * from './failover-definitions.ts';
export * from './checklist-definitions.ts';
export * from './rollout-definitions.ts';
export * from './drill-definitions.ts';
export * from './message-definitions.ts';
export * from './digest-definitions.ts';

export const RUNBOOK_WORKFLOW = 'runbookWorkflow';

/**
 * How a person reached golive: the HTTP API (token or OIDC), Slack (signed request), or the CLI
 * talking to Temporal directly (a trusted operator). `schedule` is a Temporal Schedule.
 */
export const CHANNELS = ['api', 'cli', 'slack', 'schedule'] as const;
export type Channel = (typeof CHANNELS)[number];

/**
 * What starts a run. Roles are never part of it: every decision is judged by the roles the
 * worker's own configuration holds at the moment of the decision.
 */
export interface RunbookRunInput {
  runbook: Runbook;
  /** Who started the run, as the channel authenticated them; four-eyes: this user never approves its gates. */
  requestedBy: string;
  /** How the requester reached golive. */
  channel: Channel;
  /** Where the runbook came from (file path or the server's runbook name), for the audit trail. */
  source?: string;
  /** Why the run was started, from the requester; kept in the audit trail. */
  comment?: string;
  /**
   * Go on although a replication-lag step measures more exposure than the RPO objective, and
   * why: the requester's informed decision, audited with the numbers it overrode.
   */
  force?: string;
  /** The Slack channel ID the run's message goes to; none: the run has no Slack message. */
  slackChannel?: string;
}

export const RUN_STATUSES = ['running', 'waiting-approval', 'paused', 'rolling-back', 'succeeded', 'failed', 'aborted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const FINISHED: readonly RunStatus[] = ['succeeded', 'failed', 'aborted'];

/**
 * `interrupted`: an action stopped by an abort while it ran. It may have applied its change, so
 * its compensation runs with the rest of the rollback.
 */
export type StepStatus = 'pending' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'skipped' | 'interrupted';

export interface StepState {
  id: string;
  kind: 'action' | 'approval' | 'pause';
  phase: 'steps' | 'rollback';
  action?: string;
  status: StepStatus;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  result?: unknown;
  error?: string;
  /** Who decided or changed this step (approver, skipper). */
  actor?: string;
  comment?: string;
}

export interface RunState {
  runId: string;
  runbook: string;
  service: string;
  strategy: string;
  requestedBy: string;
  status: RunStatus;
  paused: boolean;
  currentStep?: string;
  startedAt: string;
  finishedAt?: string;
  steps: StepState[];
  rollback: StepState[];
  /** Why the run did not succeed. */
  reason?: string;
  /** Every time the run was held by a pause control or a pause step: from, until (open while paused). */
  pauses: PauseSpan[];
  /** The approval gate the run waits at, while it waits. */
  gate?: GateWait;
}

/** What a waiting approval gate needs: who may decide it, what it asks, until when. */
export interface GateWait {
  stepId: string;
  /** Roles that may decide; the requester never may (four-eyes). */
  approvers: string[];
  message?: string;
  since: string;
  /** When the gate times out and the run rolls back. */
  deadline: string;
}

export interface PauseSpan {
  from: string;
  to?: string;
  /** A pause step's id, or undefined for a pause control between steps. */
  stepId?: string;
}

export interface ControlRequest {
  /** The user acting, as the channel authenticated them (token user, OIDC claim, Slack user id, CLI user). */
  actor: string;
  channel: Channel;
  comment?: string;
  /** The step the control is meant for; defaults to the current one. */
  stepId?: string;
  /**
   * When the caller stops waiting for an answer (ISO time). A control that reaches the
   * workflow later is refused, so a caller told "no answer" never sees it applied afterwards.
   */
  expiresAt?: string;
}

export const stateQuery = defineQuery<RunState>('state');

/** How much of the run's audit trail has reached golive's Postgres. */
export interface ProjectionProgress {
  /** Events the run has recorded (in its history). */
  recorded: number;
  /** Of those, how many are confirmed written to Postgres. */
  written: number;
  /** Why writing stopped for good (a conflicting row), if it did. */
  broken?: string;
}
export const projectionQuery = defineQuery<ProjectionProgress>('projection');
export const approveUpdate = defineUpdate<string, [ControlRequest]>('approve');
export const rejectUpdate = defineUpdate<string, [ControlRequest]>('reject');
export const pauseUpdate = defineUpdate<string, [ControlRequest]>('pause');
export const resumeUpdate = defineUpdate<string, [ControlRequest]>('resume');
export const skipUpdate = defineUpdate<string, [ControlRequest]>('skip');
export const abortUpdate = defineUpdate<string, [ControlRequest]>('abort');

export const CONTROLS = {
  approve: approveUpdate,
  reject: rejectUpdate,
  pause: pauseUpdate,
  resume: resumeUpdate,
  skip: skipUpdate,
  abort: abortUpdate,
  /** Rollouts: end the current bake now. */
  promote: promoteUpdate,
  /** Rollouts: roll the flag back as the plan says and end. */
  rollback: rollbackUpdate,
  /** Checklist runs: accept a failed or open item, with a reason (release managers). */
  waive: waiveUpdate,
} as const;
/** Controls that only some kinds of run take; a run of another kind is told which. */
export const CONTROL_KINDS: Partial<Record<ControlName, readonly RunKind[]>> = { promote: ['rollout'], rollback: ['rollout'], waive: ['checklist'] };
export type ControlName = keyof typeof CONTROLS;

/** One audit event, written by the workflow through the recordEvent activity. */
export interface AuditEvent {
  runId: string;
  /** Position in the run's trail; with runId and the Temporal execution, the key of the row. */
  seq: number;
  at: string;
  actor: string;
  /** How the actor reached golive, for events a person caused. */
  channel?: Channel;
  action: string;
  stepId?: string;
  detail?: Record<string, unknown>;
}

export interface ApprovalDecision {
  stepId: string;
  decision: 'approved' | 'rejected';
  actor: string;
  channel?: Channel;
  comment?: string;
  at: string;
}

/** What kind of work a run is; `golive runs` shows it, and the runs table stores it. */
export type RunKind = 'runbook' | 'backup' | 'drill' | 'failover' | 'rollout' | 'checklist';

/**
 * One write of a run's audit trail to golive's Postgres: the events not yet written, in seq
 * order, with the run's state as it is now. The trail is a projection of Temporal's history:
 * the run never waits for it, and a write that cannot land now is retried until it does.
 */
export interface ProjectionBatch {
  /** Temporal's run id of this execution; with the run id and seq, the key of every audit row. */
  execution: string;
  run: { kind: RunKind; state: RunState };
  events: AuditEvent[];
  approvals: ApprovalDecision[];
  /** A finished drill, written with the run's last events. */
  drill?: DrillRecord;
  /** A failover's record as it stands now: written with every batch, so `failover status` follows it live. */
  failover?: FailoverRecord;
  /** A rollout's record as it stands now (guards, phase, percentage), written with every batch. */
  rollout?: RolloutRecord;
  /** A checklist run's record as it stands now (items and their evidence), written with every batch. */
  checklist?: ChecklistRecord;
}

/** Writes what a finished run could not write itself because golive's Postgres did not answer. */
export const AUDIT_CATCH_UP_WORKFLOW = 'auditCatchUpWorkflow';
export interface AuditCatchUpInput {
  batch: ProjectionBatch;
  /** A drill to announce once the batch is written. */
  announce?: DrillRecord;
  /** Where to announce it: the service's Slack channel (its runbook's metadata.slack.channel), else the worker's. */
  announceChannel?: string;
}

/** What the worker checks before a run's first step: every target resolves, every gate has an approver. */
export interface PreflightInput {
  runId: string;
  requestedBy: string;
  targets: Runbook['spec']['targets'];
  gates: Array<{ stepId: string; approvers: Role[] }>;
  /** A role the requester must hold now for the run to start at all (a failover: incident-commander). */
  requiredRole?: Role;
}

export const BACKUP_WORKFLOW = 'backupWorkflow';
export const DRILL_WORKFLOW = 'drillWorkflow';

/** A backup or drill of a runbook's service, started by a person or by a Temporal Schedule. */
export interface ProtectionRunInput extends RunbookRunInput {
  trigger: 'manual' | 'schedule';
}

export interface DrillRunInput extends ProtectionRunInput {
  /** Take a fresh backup first instead of restoring the newest existing one. */
  freshBackup?: boolean;
}

/**
 * What a backup, drill or failover drill schedule starts: a small workflow that starts the run itself under
 * a run id of golive's own form, and waits for it (workflows/scheduled-run.ts).
 */
export const SCHEDULED_RUN_WORKFLOW = 'scheduledRunWorkflow';
export type ScheduledRunInput =
  | { workflowType: typeof BACKUP_WORKFLOW | typeof DRILL_WORKFLOW; run: DrillRunInput }
  | { workflowType: typeof FAILOVER_WORKFLOW; run: FailoverRunInput };

/**
 * The run id of a scheduled backup or drill, in the form of every other run id and without colons:
 * Temporal names the workflow a schedule starts `orders-drill-2026-11-24T15:32:00Z`, which becomes
 * `orders-drill-20261124-1532-` and the last four hex digits of that workflow's Temporal run id.
 */
export function scheduledRunId(actionWorkflowId: string, actionRunId: string): string {
  const suffix = actionRunId.replace(/[^0-9a-f]/gi, '').slice(-4).toLowerCase();
  const stamped = /^(.+)-(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):\d\d(?:\.\d+)?Z$/.exec(actionWorkflowId);
  if (!stamped) return `${actionWorkflowId.replace(/[^A-Za-z0-9._-]+/g, '-')}-${suffix}`;
  const [, name, year, month, day, hour, minute] = stamped;
  return `${name}-${year}${month}${day}-${hour}${minute}-${suffix}`;
}
