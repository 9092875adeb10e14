/**
 * A checklist run: every item of a go-live checklist evaluated once, automatic items by their
 * action (the evidence is the action's result), sign-off items by a person holding the item's
 * approver role who is not the requester. Clients import these shapes through definitions.ts.
 */
import { defineUpdate } from '@temporalio/workflow';
import type { Checklist } from '../definitions/schema.ts';
import type { Channel, ControlRequest } from './definitions.ts';

export const CHECKLIST_WORKFLOW = 'checklistWorkflow';

/** How long sign-offs may take when the caller does not say: open items then fail. */
export const DEFAULT_SIGN_OFF_TIMEOUT = '7d';

export interface ChecklistRunInput {
  checklist: Checklist;
  /** The service the checklist is run for: what the DR evidence is read for, and what the record is filed under. */
  service: string;
  requestedBy: string;
  channel: Channel;
  source?: string;
  comment?: string;
  /** How long sign-offs may take (a duration); open items fail then. Default DEFAULT_SIGN_OFF_TIMEOUT. */
  signOffTimeout?: string;
  /** The rollout this checklist gates, when it does. */
  rollout?: string;  /** The Slack channel ID the run's message goes to; none: the run has no Slack message. */
  slackChannel?: string;
}

export const ITEM_STATUSES = ['pending', 'checking', 'waiting-sign-off', 'passed', 'failed', 'waived'] as const;
export type ItemStatus = (typeof ITEM_STATUSES)[number];

export interface Decision {
  actor: string;
  channel?: Channel;
  at: string;
  /** A sign-off's comment, a rejection's or a waiver's reason. */
  comment?: string;
}

export interface ChecklistItemRecord {
  id: string;
  phase: string;
  title: string;
  owner: string;
  verification: 'automatic' | 'sign-off';
  required: boolean;
  status: ItemStatus;
  /** The action an automatic item runs. */
  action?: string;
  /** What the action returned: the proof the item is judged on. */
  evidence?: unknown;
  /** Why the item failed, in words with the numbers. */
  reason?: string;
  /** Roles that may sign the item off (never the requester). */
  approvers?: string[];
  signedOff?: Decision;
  rejected?: Decision;
  /** A failed or open item accepted by a release manager, with the reason. */
  waiver?: Decision;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
}

export const CHECKLIST_STATUSES = ['running', 'passed', 'failed', 'aborted'] as const;
export type ChecklistStatus = (typeof CHECKLIST_STATUSES)[number];

export interface ChecklistRecord {
  runId: string;
  checklist: string;
  service: string;
  requestedBy: string;
  status: ChecklistStatus;
  startedAt: string;
  finishedAt?: string;
  /** Until when sign-offs are taken. */
  deadline: string;
  /** Why the gate did not pass: the required items that failed or stayed open. */
  reason?: string;
  rollout?: string;
  summary: { total: number; required: number; passed: number; failed: number; waived: number; open: number };
  items: ChecklistItemRecord[];
}

/** Accepts a failed or open item: `stepId` is the item, `comment` the reason (required); release managers only, never the requester. */
export const waiveUpdate = defineUpdate<string, [ControlRequest]>('waive');
