/**
 * A phased rollout: the checklist gate, then each phase sets the flag's percentage, bakes while
 * its guards are watched, and asks for approval where the plan says. Clients import these shapes
 * through definitions.ts.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Checklist, RolloutPlan } from '../definitions/schema.ts';
import type { Channel, ControlRequest, StepState } from './definitions.ts';

export const ROLLOUT_WORKFLOW = 'rolloutWorkflow';

export interface RolloutRunInput {
  plan: RolloutPlan;
  requestedBy: string;
  channel: Channel;
  /** Where the plan came from (file path, the server's plan name, or "ad hoc"). */
  source?: string;
  comment?: string;
  /** The plan's checklist, read when the rollout started and pinned for its life. */
  checklist?: Checklist;  /** The Slack channel ID the run's message goes to; none: the run has no Slack message. */
  slackChannel?: string;
}

export const ROLLOUT_STATUSES = ['gate', 'baking', 'waiting-approval', 'paused', 'rolling-back', 'succeeded', 'rolled-back', 'failed', 'aborted'] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];
export const ROLLOUT_FINISHED: readonly RolloutStatus[] = ['succeeded', 'rolled-back', 'failed', 'aborted'];

/** One guard's latest evaluation. `ok` null: inconclusive (no data, or Prometheus did not answer). */
export interface GuardReading {
  name: string;
  query: string;
  value: number | null;
  /** `> 0.01` for a max, `< 0.5` for a min: what breaches. */
  threshold: string;
  ok: boolean | null;
  at: string;
  /** Consecutive breaches and inconclusive answers up to this reading. */
  breaches: number;
  inconclusive: number;
  error?: string;
}

export interface RolloutPhaseRecord {
  percent: number;
  bake: string;
  status: 'pending' | 'waiting-approval' | 'baking' | 'baked' | 'rolled-back' | 'skipped';
  /** When the percentage was set, and when its bake ends (or ended). */
  startedAt?: string;
  bakeEndsAt?: string;
  approvedBy?: string;
}

export interface RolloutRecord {
  runId: string;
  plan: string;
  service: string;
  flag: { key: string; provider: 'builtin' | 'unleash'; environment: string };
  requestedBy: string;
  status: RolloutStatus;
  /** The phase in progress, 1-based; 0 before the first percentage is set. */
  phase: number;
  /** The flag's percentage as the run last set it. */
  percent: number;
  /** When the next phase starts if nothing breaches (bake end); undefined while waiting for a person. */
  nextPhaseAt?: string;
  guards: GuardReading[];
  phases: RolloutPhaseRecord[];
  /** The checklist run that gated the rollout. */
  gate?: { runId: string; checklist: string; status: string; reason?: string };
  /** Set once the flag was rolled back: from which percentage to which, and why. */
  rolledBack?: { at: string; from: number; to: number; cause: string; by: string };
  startedAt: string;
  finishedAt?: string;
  reason?: string;
  steps: StepState[];
}

/** Ends the current bake now (the next phase still waits for its approval, if it has one). */
export const promoteUpdate = defineUpdate<string, [ControlRequest]>('promote');
/** Rolls the flag back as the plan says (to 0, or to the previous phase) and ends the rollout. */
export const rollbackUpdate = defineUpdate<string, [ControlRequest]>('rollback');

/** The rollout's record as it stands, live (guard readings change between audit events). */
export const rolloutQuery = defineQuery<RolloutRecord>('rollout');
