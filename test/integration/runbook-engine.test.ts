import { WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sendControl, waitForState } from '../../runtime/runs.ts';
import { UserError } from '../../runtime/errors.ts';
import { RUNBOOK_WORKFLOW, type RunbookRunInput, type RunState } from '../../workflows/definitions.ts';
import { uniqueId } from '../support/db.ts';
import { createEngineHarness, fakeActions, runbook, settledEvents, type EngineHarness } from '../support/engine.ts';

const calls: string[] = [];
let harness: EngineHarness;

beforeAll(async () => {
  harness = await createEngineHarness('engine');
  await harness.startWorker(fakeActions(calls, new Set(['fails'])));
});
afterAll(() => harness.close());

const started: string[] = [];

async function start(spec: Record<string, unknown>, requestedBy = 'rita') {
  const input: RunbookRunInput = { runbook: runbook(spec), requestedBy, channel: 'cli' };
  const handle = await harness.client.workflow.start(RUNBOOK_WORKFLOW, { workflowId: uniqueId('run'), taskQueue: harness.taskQueue, args: [input] });
  started.push(handle.workflowId);
  return handle;
}

async function finalState(handle: Awaited<ReturnType<typeof start>>): Promise<RunState> {
  const failure = await handle.result().then(() => undefined, (error: unknown) => error);
  if (failure) expect(failure).toBeInstanceOf(WorkflowFailedError);
  const recorded = await harness.store.getRun(handle.workflowId);
  return recorded!.state;
}

const callsOf = (runSteps: string[]) => calls.filter((id) => runSteps.includes(id));
const noop = (id: string, extra: Record<string, unknown> = {}) => ({ id, action: 'noop', ...extra });
const gate = { id: 'approve', approval: { approvers: ['incident-commander'], timeout: '1h' } };

describe('the runbook engine on a real Temporal server and a real store', () => {
  it('runs the compensations of the succeeded steps in reverse when a step fails', async () => {
    const handle = await start({
      steps: [noop('first'), noop('second'), noop('fails'), noop('never')],
      rollback: [noop('undo-first', { compensates: 'first' }), noop('undo-second', { compensates: 'second' }), noop('undo-fails', { compensates: 'fails' }), noop('announce')],
    });
    const state = await finalState(handle);
    expect(callsOf(['first', 'second', 'fails', 'never', 'undo-first', 'undo-second', 'undo-fails', 'announce']))
      .toEqual(['first', 'second', 'fails', 'undo-second', 'undo-first', 'announce']);
    expect(state.status).toBe('failed');
    expect(state.reason).toContain('step fails failed: fails broke on purpose');
    expect(state.steps.map((step) => [step.id, step.status])).toEqual([['first', 'succeeded'], ['second', 'succeeded'], ['fails', 'failed'], ['never', 'pending']]);
    expect(state.rollback.map((step) => [step.id, step.status])).toEqual([['undo-second', 'succeeded'], ['undo-first', 'succeeded'], ['announce', 'succeeded']]);
    const actions = (await settledEvents(harness, handle.workflowId)).map((event) => `${event.action}${event.stepId ? `:${event.stepId}` : ''}`);
    expect(actions).toEqual([
      'run.started', 'run.preflight', 'step.started:first', 'step.succeeded:first', 'step.started:second', 'step.succeeded:second',
      'step.started:fails', 'step.failed:fails', 'rollback.started',
      'step.started:undo-second', 'step.succeeded:undo-second', 'step.started:undo-first', 'step.succeeded:undo-first',
      'step.started:announce', 'step.succeeded:announce', 'rollback.finished', 'run.finished',
    ]);
  });

  it('aborts mid-run: interrupts the waiting step, rolls back in reverse, runs nothing after', async () => {
    const handle = await start({
      steps: [noop('a-one'), noop('a-two'), { id: 'a-hold', pause: {} }, noop('a-three')],
      rollback: [noop('a-undo-one', { compensates: 'a-one' }), noop('a-undo-two', { compensates: 'a-two' })],
    });
    await waitForState(harness.client, handle.workflowId, (state) => state.currentStep === 'a-hold' && state.status === 'paused');
    expect(await sendControl(harness, handle.workflowId, 'abort', { actor: 'ivan', channel: 'cli', comment: 'standby unhealthy' })).toContain('aborted');
    const state = await finalState(handle);
    expect(state.status).toBe('aborted');
    expect(state.reason).toBe('aborted by ivan: standby unhealthy');
    expect(callsOf(['a-one', 'a-two', 'a-three', 'a-undo-one', 'a-undo-two'])).toEqual(['a-one', 'a-two', 'a-undo-two', 'a-undo-one']);
    await expect(sendControl(harness, handle.workflowId, 'abort', { actor: 'ivan', channel: 'cli' })).rejects.toThrow(UserError);
  });

  describe('approval gates', () => {
    let handle: Awaited<ReturnType<typeof start>>;
    const auditCount = async () => (await settledEvents(harness, handle.workflowId)).length;

    beforeAll(async () => {
      handle = await start({ steps: [noop('g-before'), gate, noop('g-after')] });
      await waitForState(harness.client, handle.workflowId, (state) => state.status === 'waiting-approval');
    });

    it('refuses the requester (four-eyes) and changes nothing', async () => {
      const before = await auditCount();
      await expect(sendControl(harness, handle.workflowId, 'approve', { actor: 'rita', channel: 'cli' }))
        .rejects.toThrow(`four-eyes: rita requested run ${handle.workflowId} and cannot approve its gate approve`);
      expect((await waitForState(harness.client, handle.workflowId, () => true)).status).toBe('waiting-approval');
      expect(await auditCount()).toBe(before);
    });

    it('refuses a user without a role the gate names', async () => {
      await expect(sendControl(harness, handle.workflowId, 'approve', { actor: 'adam', channel: 'cli' }))
        .rejects.toThrow('adam cannot approve gate approve');
      await expect(sendControl(harness, handle.workflowId, 'approve', { actor: 'mallory', channel: 'cli' }))
        .rejects.toThrow('it needs incident-commander and mallory holds no role');
    });

    it('accepts the incident commander once and refuses a second click, changing nothing', async () => {
      expect(await sendControl(harness, handle.workflowId, 'approve', { actor: 'ivan', channel: 'cli', comment: 'lag is fine' })).toContain('approved gate approve');
      const state = await finalState(handle);
      expect(state.status).toBe('succeeded');
      expect(state.steps.find((step) => step.id === 'approve')).toMatchObject({ status: 'succeeded', actor: 'ivan', comment: 'lag is fine' });
      const before = await auditCount();
      await expect(sendControl(harness, handle.workflowId, 'approve', { actor: 'ivan', channel: 'cli' }))
        .rejects.toThrow(`gate approve of run ${handle.workflowId} was already approved by ivan at ${state.steps.find((step) => step.id === 'approve')?.finishedAt ?? ''}`);
      expect(await auditCount()).toBe(before);
      const { rows } = await harness.pool.query('SELECT actor, channel, decision FROM approvals WHERE run_id = $1', [handle.workflowId]);
      expect(rows).toEqual([{ actor: 'ivan', channel: 'cli', decision: 'approved' }]);
    });
  });

  it('refuses a second approval of a gate that is already decided while the run goes on', async () => {
    const handle = await start({ steps: [gate, { id: 'settle', pause: {} }] });
    await waitForState(harness.client, handle.workflowId, (state) => state.status === 'waiting-approval');
    await sendControl(harness, handle.workflowId, 'approve', { actor: 'ivan', channel: 'cli' });
    await waitForState(harness.client, handle.workflowId, (state) => state.currentStep === 'settle');
    const events = (await settledEvents(harness, handle.workflowId)).length;
    await expect(sendControl(harness, handle.workflowId, 'approve', { actor: 'ivan', channel: 'cli' }))
      .rejects.toThrow(/gate approve of run .* was already approved by ivan at .*; nothing changed/);
    expect((await settledEvents(harness, handle.workflowId)).length).toBe(events);
    await sendControl(harness, handle.workflowId, 'resume', { actor: 'rita', channel: 'cli' });
    expect((await finalState(handle)).status).toBe('succeeded');
  });

  it('rejection fails the gate and rolls back', async () => {
    const handle = await start({ steps: [noop('r-one'), gate], rollback: [noop('r-undo', { compensates: 'r-one' })] });
    await waitForState(harness.client, handle.workflowId, (state) => state.status === 'waiting-approval');
    await sendControl(harness, handle.workflowId, 'reject', { actor: 'ivan', channel: 'cli', comment: 'lag too high' });
    const state = await finalState(handle);
    expect(state.reason).toBe('step approve failed: rejected by ivan: lag too high');
    expect(callsOf(['r-one', 'r-undo'])).toEqual(['r-one', 'r-undo']);
  });

  it('pauses between steps, resumes, and skips a step someone marked', async () => {
    const handle = await start({ steps: [{ id: 'p-hold', pause: {} }, noop('p-skipped'), noop('p-last')] });
    await waitForState(harness.client, handle.workflowId, (state) => state.currentStep === 'p-hold');
    await sendControl(harness, handle.workflowId, 'pause', { actor: 'ivan', channel: 'cli' });
    await sendControl(harness, handle.workflowId, 'skip', { actor: 'ivan', channel: 'cli', stepId: 'p-skipped', comment: 'done by hand' });
    await expect(sendControl(harness, handle.workflowId, 'skip', { actor: 'adam', channel: 'cli', stepId: 'p-last' })).rejects.toThrow('adam cannot skip a step of run');
    await sendControl(harness, handle.workflowId, 'resume', { actor: 'ivan', channel: 'cli' });
    const state = await finalState(handle);
    expect(state.status).toBe('succeeded');
    expect(state.steps.map((step) => step.status)).toEqual(['succeeded', 'skipped', 'succeeded']);
    expect(callsOf(['p-skipped', 'p-last'])).toEqual(['p-last']);
  });

  it('replays the history of every run above without a nondeterminism error', async () => {
    const histories = await Promise.all(started.map(async (workflowId) => ({ workflowId, history: await harness.client.workflow.getHandle(workflowId).fetchHistory() })));
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: inject('workflowBundlePath') } }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(started.length).toBeGreaterThanOrEqual(6);
    expect(failures).toEqual([]);
  });

  it('names an unknown run', async () => {
    await expect(sendControl(harness, 'no-such-run', 'approve', { actor: 'ivan', channel: 'cli' })).rejects.toThrow('no run no-such-run: list runs with `golive runs`');
  });
});
