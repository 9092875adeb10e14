import { describe, expect, it } from 'vitest';
import { runMessage, type RunView } from '../../slack/blocks/run-message.ts';
import type { RunBlock } from '../../slack/blocks/kit.ts';
import { threadReply } from '../../slack/blocks/thread-replies.ts';
import { APPROVE_ACTION, decodeGate, REJECT_ACTION } from '../../slack/ids.ts';
import type { AuditEvent, ChecklistItemRecord, ChecklistRecord, FailoverRecord, RolloutRecord, RunState, StepState } from '../../workflows/definitions.ts';

const NOW = new Date('2026-11-29T10:32:30.000Z');
const RUN_ID = 'orders-restore-20261129-1030-ab12';

const step = (id: string, fields: Partial<StepState> = {}): StepState => ({ id, kind: 'action', phase: 'steps', action: 'noop', status: 'pending', ...fields });

function runState(fields: Partial<RunState> = {}): RunState {
  return {
    runId: RUN_ID, runbook: 'orders-restore', service: 'orders', strategy: 'backup-restore', requestedBy: 'U0REQUEST1',
    status: 'running', paused: false, startedAt: '2026-11-29T10:30:00.000Z', steps: [], rollback: [], pauses: [], ...fields,
  };
}

const view = (state: RunState, kind: RunView['run']['kind'] = 'runbook', records: Partial<RunView> = {}): RunView => ({ run: { kind, state }, ...records });
const texts = (blocks: RunBlock[]) => JSON.stringify(blocks);
const actions = (blocks: RunBlock[]) => blocks.filter((block): block is Extract<RunBlock, { type: 'actions' }> => block.type === 'actions');

const WAITING = runState({
  status: 'waiting-approval', currentStep: 'approve',
  steps: [step('stop-writes', { status: 'succeeded', durationMs: 1_200 }), step('approve', { kind: 'approval', action: undefined, status: 'waiting' }), step('restore')],
  gate: { stepId: 'approve', approvers: ['approver'], message: 'Restore <prod> & go on?', since: '2026-11-29T10:31:00.000Z', deadline: '2026-11-29T11:31:00.000Z' },
});

describe('the run message', () => {
  it('shows a waiting gate with Approve and Reject buttons naming the gate, and what it asks, escaped', () => {
    const { blocks, text } = runMessage(view(WAITING), NOW);
    expect(text).toBe(`Runbook run ${RUN_ID} of orders waiting-approval, waiting for approval of approve`);
    expect(blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Runbook run: orders' } });
    const [buttons] = actions(blocks);
    expect(buttons?.elements).toEqual([
      { type: 'button', action_id: APPROVE_ACTION, text: { type: 'plain_text', text: 'Approve' }, style: 'primary', value: expect.any(String) },
      { type: 'button', action_id: REJECT_ACTION, text: { type: 'plain_text', text: 'Reject' }, style: 'danger', value: expect.any(String) },
    ]);
    expect(decodeGate(buttons?.elements[0]?.value)).toEqual({ runId: RUN_ID, stepId: 'approve' });
    expect(texts(blocks)).toContain('Restore &lt;prod&gt; &amp; go on?');
    expect(texts(blocks)).toContain('Who may decide: approver, not <@U0REQUEST1>. Closes 11:31:00 UTC.');
    expect(texts(blocks)).toContain(':white_check_mark: `stop-writes` succeeded in 1.2s');
  });

  it('drops the buttons once the gate is decided and says who decided', () => {
    const decided = runState({
      status: 'succeeded', finishedAt: '2026-11-29T10:32:00.000Z',
      steps: [step('approve', { kind: 'approval', status: 'succeeded', actor: 'U0APPROVE1', comment: 'go <now>' }), step('restore', { status: 'succeeded', durationMs: 61_000 })],
    });
    const { blocks } = runMessage(view(decided), NOW);
    expect(actions(blocks)).toEqual([]);
    expect(texts(blocks)).toContain('Gate `approve` approved by <@U0APPROVE1>: go &lt;now&gt;');
    expect(texts(blocks)).toContain(':white_check_mark: *succeeded*');

    const rejected = runState({ status: 'failed', reason: 'step approve failed: rejected by ana', steps: [step('approve', { kind: 'approval', status: 'failed', actor: 'ana', error: 'rejected by ana' })] });
    expect(texts(runMessage(view(rejected), NOW).blocks)).toContain('`approve` rejected by ana');
  });

  it('says who started the run, how and why, escaping what people typed', () => {
    const started: AuditEvent = { runId: RUN_ID, seq: 1, at: '2026-11-29T10:30:00.000Z', actor: 'rita<x>', channel: 'cli', action: 'run.started', detail: { source: 'runbooks/orders.yaml', comment: 'restore & <verify>' } };
    const { blocks } = runMessage(view(runState({ requestedBy: 'rita<x>' })), NOW, started);
    expect(blocks.at(-1)).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `Run \`${RUN_ID}\` of \`orders-restore\`, started by rita&lt;x&gt; via cli from \`runbooks/orders.yaml\` at 10:30:00 UTC; "restore &amp; &lt;verify&gt;"` }],
    });
  });

  it('shows a rollout\'s phase, percentage and every guard\'s latest reading against its threshold', () => {
    const rollout: RolloutRecord = {
      runId: RUN_ID, plan: 'checkout-v2', service: 'checkout', flag: { key: 'new-checkout', provider: 'builtin', environment: 'production' }, requestedBy: 'rita',
      status: 'baking', phase: 2, percent: 50, nextPhaseAt: '2026-11-29T10:40:00.000Z', startedAt: '2026-11-29T10:30:00.000Z', steps: [],
      phases: [{ percent: 10, bake: '5m', status: 'baked' }, { percent: 50, bake: '10m', status: 'baking', bakeEndsAt: '2026-11-29T10:40:00.000Z', approvedBy: 'U0APPROVE1' }, { percent: 100, bake: '0s', status: 'pending' }],
      guards: [
        { name: 'error-rate', query: 'q', value: 0.30441, threshold: '> 0.01', ok: false, at: '2026-11-29T10:32:00.000Z', breaches: 2, inconclusive: 0 },
        { name: 'latency', query: 'q', value: 0.12, threshold: '> 0.5', ok: true, at: '2026-11-29T10:32:00.000Z', breaches: 0, inconclusive: 0 },
        { name: 'orders', query: 'q', value: null, threshold: '< 1', ok: null, at: '2026-11-29T10:32:00.000Z', breaches: 0, inconclusive: 1, error: 'no data' },
      ],
    };
    const all = texts(runMessage(view(runState(), 'rollout', { rollout }), NOW).blocks);
    expect(all).toContain('*Phase*\\n2 of 3, at 50%');
    expect(all).toContain('*Next phase*\\n10:40:00 UTC');
    expect(all).toContain(':red_circle: *error-rate* 0.3044 (breaches at &gt; 0.01), 2 breaches in a row, at 10:32:00 UTC');
    expect(all).toContain(':large_green_circle: *latency* 0.12 (breaches at &gt; 0.5), at 10:32:00 UTC');
    expect(all).toContain(':grey_question: *orders* no data: no data (breaches at &lt; 1), 1 in a row');
    expect(all).toContain('50% baking until 10:40:00 UTC, approved by <@U0APPROVE1>');
  });

  it('shows a failover\'s RTO clock: elapsed since T_d while it runs, then the measured RTO against the objective', () => {
    const failover: FailoverRecord = {
      runId: RUN_ID, runbook: 'orders-failover', service: 'orders', strategy: 'warm-standby', status: 'running', reason: 'site-a down <INC-42>', requestedBy: 'ivan',
      drill: false, declaredAt: '2026-11-29T10:30:00.000Z', objectives: { rpo: '1m', rto: '15m', rpoMs: 60_000, rtoMs: 900_000 },
      measured: { pausedMs: 30_000, checks: [], exposure: { bytes: 1024, seconds: 4, source: 'standby' } }, verdict: { rto: 'not-measured', rpo: 'met' }, fenced: 'unreachable', steps: [],
    };
    const running = texts(runMessage(view(runState(), 'failover', { failover }), NOW).blocks);
    expect(running).toContain('*Why:* site-a down &lt;INC-42&gt;');
    expect(running).toContain('*T_d (declared)*\\n10:30:00 UTC');
    expect(running).toContain('*RTO*\\nrunning: 2m 30s elapsed at 10:32:30 UTC (objective 15m)');
    expect(running).toContain('*Paused by a control*\\n30.0s');
    expect(running).toContain('4.0s behind, an upper bound read on the standby');
    const recovered = { ...failover, status: 'succeeded' as const, recoveredAt: '2026-11-29T10:31:35.000Z', finishedAt: '2026-11-29T10:32:00.000Z', measured: { ...failover.measured, rtoMs: 95_000 } };
    expect(texts(runMessage(view(runState({ status: 'succeeded' }), 'failover', { failover: recovered }), NOW).blocks)).toContain('*RTO*\\n1m 35s (objective 15m, met)');
    const missed = { ...recovered, measured: { ...recovered.measured, rtoMs: 1_200_000 } };
    expect(texts(runMessage(view(runState({ status: 'succeeded' }), 'failover', { failover: missed }), NOW).blocks)).toContain('20m 0s (objective 15m, missed)');
  });

  it('gives every waiting checklist sign-off its buttons, and shows who signed off once decided', () => {
    const item = (id: string, fields: Partial<ChecklistItemRecord>): ChecklistItemRecord => ({
      id, phase: 'launch', title: `Item ${id}`, owner: 'sre', verification: 'sign-off', required: true, status: 'waiting-sign-off', approvers: ['release-manager'], ...fields,
    });
    const checklist: ChecklistRecord = {
      runId: RUN_ID, checklist: 'go-live', service: 'checkout', requestedBy: 'rita', status: 'running', startedAt: '2026-11-29T10:30:00.000Z', deadline: '2026-12-06T10:30:00.000Z',
      summary: { total: 2, required: 2, passed: 1, failed: 0, waived: 0, open: 1 },
      items: [item('runbook-reviewed', { status: 'passed', signedOff: { actor: 'U0SIGNER01', at: '2026-11-29T10:31:00.000Z' } }), item('on-call', {})],
    };
    const { blocks } = runMessage(view(runState(), 'checklist', { checklist }), NOW);
    expect(actions(blocks).map((block) => decodeGate(block.elements[0]?.value))).toEqual([{ runId: RUN_ID, stepId: 'on-call' }]);
    expect(actions(blocks)[0]?.elements.map((button) => button.text.text)).toEqual(['Sign off', 'Reject']);
    expect(texts(blocks)).toContain('*Item runbook-reviewed* (`runbook-reviewed`) signed off by <@U0SIGNER01>');
    const done = { ...checklist, status: 'passed' as const, items: checklist.items.map((entry) => ({ ...entry, status: 'passed' as const, signedOff: { actor: 'U0SIGNER01', at: NOW.toISOString() } })) };
    expect(actions(runMessage(view(runState({ status: 'succeeded' }), 'checklist', { checklist: done }), NOW).blocks)).toEqual([]);
  });

  it('stays within Slack\'s limits: 50 blocks, 3000 characters a text, long lists clipped with "and N more"', () => {
    const many = runState({ steps: Array.from({ length: 300 }, (_, index) => step(`step-${index}`, { status: 'failed', error: 'x'.repeat(500) })) });
    const { blocks } = runMessage(view(many), NOW);
    expect(blocks.length).toBeLessThanOrEqual(50);
    for (const block of blocks) {
      if (block.type === 'section' && block.text) expect(block.text.text.length).toBeLessThanOrEqual(3_000);
    }
    expect(texts(blocks)).toMatch(/_and 29\d more steps_/);

    const item = (index: number): ChecklistItemRecord => ({ id: `item-${index}`, phase: 'p', title: `Item ${index}`, owner: 'sre', verification: 'sign-off', required: true, status: 'waiting-sign-off', approvers: ['approver'] });
    const checklist: ChecklistRecord = {
      runId: RUN_ID, checklist: 'go-live', service: 'checkout', requestedBy: 'rita', status: 'running', startedAt: NOW.toISOString(), deadline: NOW.toISOString(),
      summary: { total: 40, required: 40, passed: 0, failed: 0, waived: 0, open: 40 }, items: Array.from({ length: 40 }, (_, index) => item(index)),
    };
    const crowded = runMessage(view(runState(), 'checklist', { checklist }), NOW).blocks;
    expect(crowded.length).toBeLessThanOrEqual(50);
    expect(actions(crowded)).toHaveLength(10);
    expect(texts(crowded)).toContain('30 more sign-offs wait');
    expect(texts(crowded)).toContain('_and 10 more items_');
  });
});

describe('thread replies', () => {
  const event = (action: string, fields: Partial<AuditEvent> = {}): AuditEvent => ({ runId: RUN_ID, seq: 2, at: NOW.toISOString(), actor: 'golive', action, ...fields });

  it('tells of steps finishing, decisions with their actor, guard trips and the end of the run', () => {
    expect(threadReply(event('step.succeeded', { stepId: 'restore', detail: { durationMs: 61_000 } }))).toBe(':white_check_mark: Step `restore` succeeded in 1m 1s');
    expect(threadReply(event('step.failed', { stepId: 'restore', detail: { error: 'relation <orders> missing' } }))).toBe(':x: Step `restore` failed: relation &lt;orders&gt; missing');
    expect(threadReply(event('approval.approved', { stepId: 'approve', actor: 'U0APPROVE1', detail: { comment: 'ok' } }))).toBe(':white_check_mark: `approve` approved by <@U0APPROVE1>: ok');
    expect(threadReply(event('approval.rejected', { stepId: 'approve', actor: 'ana', detail: { comment: 'not now' } }))).toBe(':x: `approve` rejected by ana: not now');
    expect(threadReply(event('control.paused', { actor: 'W0PAUSER01' }))).toBe(':double_vertical_bar: Paused by <@W0PAUSER01>');
    expect(threadReply(event('guard.tripped', { detail: { guard: 'error-rate', reason: 'breached 3 times' } }))).toBe(':rotating_light: Guard `error-rate` tripped: breached 3 times');
    expect(threadReply(event('run.finished', { detail: { status: 'failed', reason: 'step restore failed' } }))).toBe(':x: Run failed: step restore failed');
  });

  it('leaves out what the message itself shows', () => {
    for (const action of ['run.started', 'step.started', 'approval.requested', 'guard.breached', 'pause.started', 'constructor']) expect(threadReply(event(action))).toBeUndefined();
    expect(threadReply(event('run.preflight', { detail: { ok: true } }))).toBeUndefined();
  });
});
