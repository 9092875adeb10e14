/**
 * Everything a client (CLI, HTTP API, Slack) needs to talk to runs: the query, the updates,
 * and the shapes they carry. Clients import this file, never the workflow code.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { RoleMap } from '../definitions/roles.ts';
import type { Runbook } from '../definitions/schema.ts';

export const RUNBOOK_WORKFLOW = 'runbookWorkflow';

export interface RunbookRunInput {
  runbook: Runbook;
  /** Who started the run; four-eyes: this user never approves its gates. */
  requestedBy: string;
  /** Roles pinned at start, so every decision in the run is judged by the same rules. */
  roles: RoleMap;
  /** Where the runbook came from (file path), for the audit trail. */
  source?: string;
}

export type RunStatus = 'running' | 'waiting-approval' | 'paused' | 'rolling-back' | 'succeeded' | 'failed' | 'aborted';
export const FINISHED: readonly RunStatus[] = ['succeeded', 'failed', 'aborted'];

export type StepStatus = 'pending' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'skipped';

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
}

export interface ControlRequest {
  /** The user acting: a Slack user id or a CLI user. */
  actor: string;
  comment?: string;
  /** The step the control is meant for; defaults to the current one. */
  stepId?: string;
}

export const stateQuery = defineQuery<RunState>('state');
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
} as const;
export type ControlName = keyof typeof CONTROLS;

/** One audit event, written by the workflow through the recordEvent activity. */
export interface AuditEvent {
  runId: string;
  /** Position in the run's trail; with runId, the idempotency key of the write. */
  seq: number;
  at: string;
  actor: string;
  action: string;
  stepId?: string;
  detail?: Record<string, unknown>;
}

export interface ApprovalDecision {
  stepId: string;
  decision: 'approved' | 'rejected';
  actor: string;
  comment?: string;
  at: string;
}

/** What kind of work a run is; `golive runs` shows it, and the runs table stores it. */
export type RunKind = 'runbook' | 'backup' | 'drill';

export interface RecordEventInput {
  event: AuditEvent;
  run: { kind: RunKind; state: RunState };
  approval?: ApprovalDecision;
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

/** One restore-verification drill, as recorded in golive's Postgres and sent to the notifier. */
export interface DrillRecord {
  runId: string;
  runbook: string;
  service: string;
  strategy: string;
  trigger: 'manual' | 'schedule';
  requestedBy: string;
  status: 'passed' | 'failed';
  /** Why the drill failed, with the numbers: "measured RPO 26h 0m exceeds objective 24h". */
  reason?: string;
  /** T_d: when the drill declared the disaster (the run's start). */
  declaredAt: string;
  /** When the health check on the restored copy first passed. */
  recoveredAt?: string;
  finishedAt: string;
  backup?: { backupId: string; location: string; snapshotAt: string; bytes: number; sha256: string };
  objectives: { rpo: string; rto: string; rpoMs: number; rtoMs: number };
  measured: {
    rpoMs?: number;
    rtoMs?: number;
    /** The newest committed timestamp found in the restored data, and where it came from. */
    newestCommit?: string;
    rpoSource?: 'heartbeat' | 'snapshot';
  };
  steps: Array<{ id: string; status: StepStatus; durationMs?: number; error?: string }>;
}
