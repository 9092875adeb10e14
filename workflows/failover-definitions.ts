/**
 * The shapes of failovers a client needs: what starts one and the record it keeps. Re-exported by
 * workflows/definitions.ts, which clients import.
 */
import type { RunbookRunInput, RunStatus, StepStatus } from './definitions.ts';

export const FAILOVER_WORKFLOW = 'failoverWorkflow';

/** A failover of a service to its standby, or a drill of one against a drill environment. */
export interface FailoverRunInput extends RunbookRunInput {
  /** Why the incident commander fails over: the incident, in their words. */
  reason: string;
  /** A drill runs the same runbook with its targets replaced by this environment's (already applied to `runbook`). */
  drill?: { environment: string; trigger: 'manual' | 'schedule' };
}

/** Whether the old primary can still take writes after the fence step: never assumed, always reported. */
export type FenceState = 'fenced' | 'not-primary' | 'unreachable' | 'not-run';

/** The data a failover puts at risk, as one replication-lag step measured it. */
export interface Exposure {
  bytes: number | null;
  seconds: number | null;
  /** `primary`: LSNs of both sides; `standby`: the standby alone (primary unreachable), an upper bound. */
  source: 'primary' | 'standby';
  stepId?: string;
  at?: string;
}

/** One failover (or failover drill), as stored in golive's Postgres and served at /api/failovers. */
export interface FailoverRecord {
  runId: string;
  runbook: string;
  service: string;
  strategy: string;
  status: RunStatus;
  /** Why the failover was started (the incident). */
  reason: string;
  requestedBy: string;
  drill: boolean;
  environment?: string;
  /** How a drill was started: by a person, or by its failover-drill schedule. Absent for a real failover. */
  trigger?: 'manual' | 'schedule';
  /** Why the run did not succeed, or what it left for a person after promotion. */
  outcome?: string;
  /** T_d: the failover's start, on the worker's clock. */
  declaredAt: string;
  /** The first passing health check through the switched path (the step `spec.rtoStopsAt` names). */
  recoveredAt?: string;
  finishedAt?: string;
  objectives: { rpo: string; rto: string; rpoMs: number; rtoMs: number };
  measured: {
    /** recoveredAt − declaredAt, without the time the run was paused by a control. */
    rtoMs?: number;
    pausedMs?: number;
    /** The last measurement before promotion (the re-check after the gate), else the pre-flight's. */
    exposure?: Exposure;
    checks: Exposure[];
  };
  verdict: { rto: 'met' | 'missed' | 'not-measured'; rpo: 'met' | 'missed' | 'not-measured' };
  /** Set when the requester overrode an exposure above the RPO objective. */
  forced?: { reason: string; by: string };
  fenced: FenceState;
  promoted?: { target: string; timeline?: number; at?: string };
  steps: Array<{ id: string; status: StepStatus; startedAt?: string; finishedAt?: string; actor?: string; error?: string }>;
}
