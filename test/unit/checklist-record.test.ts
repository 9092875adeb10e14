import { describe, expect, it } from 'vitest';
import {
  checklistRunState, evidenceFailure, gateVerdict, initialItems, signOffGates, summarize, summarizeEvidence,
} from '../../definitions/checklist-record.ts';
import { ChecklistSchema } from '../../definitions/schema.ts';
import type { ChecklistItemRecord, ChecklistRecord } from '../../workflows/definitions.ts';

const checklist = ChecklistSchema.parse({
  apiVersion: 'golive/v1',
  kind: 'Checklist',
  metadata: { name: 'go-live' },
  spec: {
    targets: { site: { type: 'http', url: 'http://127.0.0.1:9' } },
    phases: [
      {
        id: 'technical',
        title: 'Technical readiness',
        items: [
          { id: 'site-up', title: 'Site answers', owner: 'sre', verification: 'automatic', check: { id: 'probe', action: 'http.check', target: 'site' } },
          { id: 'load-test', title: 'Load test passed', owner: 'qa', verification: 'sign-off', approvers: ['approver'] },
        ],
      },
      {
        id: 'process',
        title: 'Process readiness',
        items: [{ id: 'faq', title: 'FAQ ready', owner: 'support', verification: 'sign-off', required: false }],
      },
    ],
  },
});

const withStatus = (items: ChecklistItemRecord[], statuses: Record<string, Partial<ChecklistItemRecord>>) =>
  items.map((item) => ({ ...item, ...statuses[item.id] }));

describe('a checklist run record', () => {
  it('starts with every item pending, in phase order, sign-offs with their roles (release-manager when none are named)', () => {
    expect(initialItems(checklist)).toEqual([
      { id: 'site-up', phase: 'technical', title: 'Site answers', owner: 'sre', verification: 'automatic', required: true, status: 'pending', action: 'http.check', approvers: undefined },
      { id: 'load-test', phase: 'technical', title: 'Load test passed', owner: 'qa', verification: 'sign-off', required: true, status: 'pending', action: undefined, approvers: ['approver'] },
      { id: 'faq', phase: 'process', title: 'FAQ ready', owner: 'support', verification: 'sign-off', required: false, status: 'pending', action: undefined, approvers: ['release-manager'] },
    ]);
    expect(signOffGates(checklist)).toEqual([{ stepId: 'load-test', approvers: ['approver'] }, { stepId: 'faq', approvers: ['release-manager'] }]);
  });

  it('counts items by outcome', () => {
    const items = withStatus(initialItems(checklist), { 'site-up': { status: 'failed' }, 'load-test': { status: 'waived' }, faq: { status: 'waiting-sign-off' } });
    expect(summarize(items)).toEqual({ total: 3, required: 2, passed: 0, failed: 1, waived: 1, open: 1 });
  });

  it('passes the gate only when every required item passed or was waived; an optional failure does not block', () => {
    const items = initialItems(checklist);
    expect(gateVerdict(withStatus(items, { 'site-up': { status: 'passed' }, 'load-test': { status: 'waived' }, faq: { status: 'failed' } }))).toEqual({ passed: true });
    expect(gateVerdict(withStatus(items, {
      'site-up': { status: 'failed', reason: 'http.check site: GET / answered 503, expected 200' },
      'load-test': { status: 'waiting-sign-off' },
      faq: { status: 'passed' },
    }))).toEqual({
      passed: false,
      reason: '2 required items not passed or waived: site-up (failed: http.check site: GET / answered 503, expected 200); load-test (no sign-off yet)',
    });
  });

  it('reads an evidence action\'s ok: false as a failure with its reason', () => {
    expect(evidenceFailure({ ok: false, reason: 'last restore drill failed: measured RPO 26h exceeds 24h' })).toBe('last restore drill failed: measured RPO 26h exceeds 24h');
    // http.check's ok is the HTTP status class; its expectStatus decides, so a 404 it expects passes.
    expect(evidenceFailure({ ok: false, status: 404 })).toBeUndefined();
    expect(evidenceFailure({ ok: true, reason: 'fine' })).toBeUndefined();
    expect(evidenceFailure({ status: 200 })).toBeUndefined();
    expect(evidenceFailure(null)).toBeUndefined();
  });

  it('summarizes evidence in one line: its summary, else its plain fields', () => {
    expect(summarizeEvidence({ summary: 'drill passed 2 days ago', details: { rpoMs: 1 } })).toBe('drill passed 2 days ago');
    expect(summarizeEvidence({ status: 200, ok: true, latencyMs: 12, headers: { a: 1 } })).toBe('status=200 ok=true latencyMs=12');
    expect(summarizeEvidence({ text: 'x'.repeat(400) })).toHaveLength(160);
    expect(summarizeEvidence(undefined)).toBe('');
  });

  it('shows as a run: automatic items as actions, sign-offs as approvals, a waived item as skipped with its waiver', () => {
    const items = withStatus(initialItems(checklist), {
      'site-up': { status: 'failed', reason: 'answered 503', waiver: undefined },
      'load-test': { status: 'waived', waiver: { actor: 'rose', at: '2026-03-01T10:05:00Z', comment: 'report attached to the ticket' } },
      faq: { status: 'waiting-sign-off' },
    });
    const record: ChecklistRecord = {
      runId: 'orders-go-live-20260301-1000-ab12', checklist: 'go-live', service: 'orders', requestedBy: 'rita', status: 'running',
      startedAt: '2026-03-01T10:00:00Z', deadline: '2026-03-08T10:00:00Z', summary: summarize(items), items,
    };
    const state = checklistRunState(record);
    expect(state).toMatchObject({ runId: record.runId, runbook: 'go-live', service: 'orders', status: 'waiting-approval', rollback: [] });
    expect(state.steps.map((step) => [step.id, step.kind, step.status, step.actor, step.error ?? step.comment])).toEqual([
      ['site-up', 'action', 'failed', undefined, 'answered 503'],
      ['load-test', 'approval', 'skipped', 'rose', 'waived: report attached to the ticket'],
      ['faq', 'approval', 'waiting', undefined, undefined],
    ]);
    expect(checklistRunState({ ...record, status: 'passed' }).status).toBe('succeeded');
    expect(checklistRunState({ ...record, status: 'aborted' }).status).toBe('aborted');
  });
});
