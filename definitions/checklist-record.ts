import type { Role } from './roles.ts';
import type { Checklist } from './schema.ts';
import type {
  ChecklistItemRecord, ChecklistRecord, ItemStatus, RunState, RunStatus, StepState,
} from '../workflows/definitions.ts';

/**
 * A checklist run's record, in pure functions the workflow, the CLI and the tests share: the items
 * as a run starts them, the counts, the gate's verdict, and the run-state view `golive status`
 * and the runs table read.
 */

/** Who signs off an item whose definition names no approvers: the role that owns the go-live gate. */
export const DEFAULT_SIGN_OFF_ROLES: readonly Role[] = ['release-manager'];

/** Statuses of an item nobody has decided yet. */
export const OPEN_ITEM_STATUSES: readonly ItemStatus[] = ['pending', 'checking', 'waiting-sign-off'];

export const isOpen = (item: Pick<ChecklistItemRecord, 'status'>) => OPEN_ITEM_STATUSES.includes(item.status);

/** Every item of the checklist, in phase order, not yet checked or signed off. */
export function initialItems(checklist: Checklist): ChecklistItemRecord[] {
  return checklist.spec.phases.flatMap((phase) =>
    phase.items.map((item): ChecklistItemRecord => ({
      id: item.id,
      phase: phase.id,
      title: item.title,
      owner: item.owner,
      verification: item.verification,
      required: item.required,
      status: 'pending',
      action: item.check?.kind === 'action' ? item.check.action : undefined,
      approvers: item.verification === 'sign-off' ? [...(item.approvers ?? DEFAULT_SIGN_OFF_ROLES)] : undefined,
    })),
  );
}

/** The sign-off items as pre-flight checks them: each needs someone besides the requester holding one of its roles. */
export function signOffGates(checklist: Checklist): Array<{ stepId: string; approvers: Role[] }> {
  return checklist.spec.phases.flatMap((phase) =>
    phase.items.flatMap((item) => (item.verification === 'sign-off' ? [{ stepId: item.id, approvers: [...(item.approvers ?? DEFAULT_SIGN_OFF_ROLES)] }] : [])),
  );
}

export function summarize(items: readonly ChecklistItemRecord[]): ChecklistRecord['summary'] {
  const count = (status: ItemStatus) => items.filter((item) => item.status === status).length;
  return {
    total: items.length,
    required: items.filter((item) => item.required).length,
    passed: count('passed'),
    failed: count('failed'),
    waived: count('waived'),
    open: items.filter(isOpen).length,
  };
}

/** Why one required item holds the gate: `latency-p99 (failed: value < 0.5 …)`, `load-test (no sign-off yet)`. */
function blockingText(item: ChecklistItemRecord): string {
  if (item.status === 'failed') return `${item.id} (failed: ${item.reason ?? 'no reason recorded'})`;
  if (item.status === 'waiting-sign-off') return `${item.id} (no sign-off yet)`;
  return `${item.id} (${item.status === 'checking' ? 'still checking' : 'not checked'})`;
}

/**
 * The gate passes only when every required item passed or was waived; an optional item that
 * failed is reported, never blocking. The reason names each blocking item and why.
 */
export function gateVerdict(items: readonly ChecklistItemRecord[]): { passed: boolean; reason?: string } {
  const blocking = items.filter((item) => item.required && item.status !== 'passed' && item.status !== 'waived');
  if (blocking.length === 0) return { passed: true };
  const noun = blocking.length === 1 ? 'required item' : 'required items';
  return { passed: false, reason: `${blocking.length} ${noun} not passed or waived: ${blocking.map(blockingText).join('; ')}` };
}

/**
 * Evidence actions report a judgement they could make (a drill too old, a scan with findings) as
 * `ok: false` with a `reason`, not as a thrown error: the evidence is still the proof shown. Both
 * are needed: `ok` alone is a plain field of other actions (http.check's `ok` is the HTTP status
 * class, and its own expectStatus decides), never a verdict.
 */
export function evidenceFailure(result: unknown): string | undefined {
  if (typeof result !== 'object' || result === null || !('ok' in result) || result.ok !== false) return undefined;
  return 'reason' in result && typeof result.reason === 'string' && result.reason !== '' ? result.reason : undefined;
}

const SUMMARY_LIMIT = 160;

/** One line of evidence for the audit trail and `checklist status`: its `summary` when it has one, else its plain fields. */
export function summarizeEvidence(evidence: unknown): string {
  if (evidence === undefined || evidence === null) return '';
  if (typeof evidence !== 'object') return String(evidence);
  if ('summary' in evidence && typeof evidence.summary === 'string') return evidence.summary;
  const fields = Object.entries(evidence)
    .filter(([, value]) => value === null || ['string', 'number', 'boolean'].includes(typeof value))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return fields.length > SUMMARY_LIMIT ? `${fields.slice(0, SUMMARY_LIMIT - 1)}…` : fields;
}

const STEP_STATUS: Record<ItemStatus, StepState['status']> = {
  pending: 'pending',
  checking: 'running',
  'waiting-sign-off': 'waiting',
  passed: 'succeeded',
  failed: 'failed',
  // A waived item is let through unproven, as a skipped step is; the waiver's actor and reason say so.
  waived: 'skipped',
};

/** Who decided an item, and what they said: the signer, the rejecter or the release manager who waived it. */
export function decisionOf(item: ChecklistItemRecord): ChecklistItemRecord['signedOff'] {
  return item.waiver ?? item.signedOff ?? item.rejected;
}

function itemStep(item: ChecklistItemRecord): StepState {
  const decision = decisionOf(item);
  return {
    id: item.id,
    kind: item.verification === 'automatic' ? 'action' : 'approval',
    phase: 'steps',
    action: item.action,
    status: STEP_STATUS[item.status],
    startedAt: item.startedAt,
    finishedAt: item.finishedAt,
    durationMs: item.durationMs,
    result: item.evidence,
    error: item.status === 'waived' ? undefined : item.reason,
    actor: decision?.actor,
    comment: item.waiver ? `waived: ${item.waiver.comment ?? ''}` : decision?.comment,
  };
}

function runStatus(record: ChecklistRecord): RunStatus {
  if (record.status === 'passed') return 'succeeded';
  if (record.status !== 'running') return record.status;
  const checking = record.items.some((item) => item.status === 'checking');
  const signing = record.items.some((item) => item.status === 'waiting-sign-off');
  return signing && !checking ? 'waiting-approval' : 'running';
}

/**
 * The run as every other run looks (`golive status`, `golive runs`, GET /api/runs/ID): each item a
 * step, an automatic item an action, a sign-off an approval. The checklist record has the rest.
 */
export function checklistRunState(record: ChecklistRecord): RunState {
  return {
    runId: record.runId,
    runbook: record.checklist,
    service: record.service,
    strategy: 'go-live checklist',
    requestedBy: record.requestedBy,
    status: runStatus(record),
    paused: false,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    steps: record.items.map(itemStep),
    rollback: [],
    reason: record.reason,
    pauses: [],
  };
}
