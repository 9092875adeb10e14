import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role, RoleDirectory } from '../../definitions/roles.ts';
import { createRoleDirectory } from '../../runtime/roles.ts';
import { sendControl, waitForState } from '../../runtime/runs.ts';
import { ControlConflict, ControlForbidden, StackUnavailable } from '../../runtime/errors.ts';
import { approveUpdate, RUNBOOK_WORKFLOW, type ControlRequest, type RunbookRunInput, type RunState } from '../../workflows/definitions.ts';
import { uniqueId } from '../support/db.ts';
import { until as poll } from '../support/poll.ts';
import { createEngineHarness, fakeActions, runbook, settledEvents, TEST_ROLES, type EngineHarness } from '../support/engine.ts';

/**
 * Controls mean what they say: roles come from the worker, gates close the instant they time out
 * or the run is aborted, a control being judged holds the next side effect back, and a control
 * nobody answers fails fast instead of landing later.
 */

/** Role look-ups the test can hold back, per user, and roles it can change while a run waits. */
class HeldDirectory implements RoleDirectory {
  readonly roles = structuredClone(TEST_ROLES);
  private readonly held = new Map<string, Promise<void>>();
  readonly asked: string[] = [];

  hold(user: string): () => void {
    let release = () => {};
    this.held.set(user, new Promise((resolve) => { release = resolve; }));
    return () => {
      this.held.delete(user);
      release();
    };
  }

  async rolesOf(user: string): Promise<Role[]> {
    this.asked.push(user);
    await this.held.get(user);
    return createRoleDirectory(this.roles).rolesOf(user);
  }

  holders(roles: readonly Role[]): Promise<string[]> {
    return createRoleDirectory(this.roles).holders(roles);
  }
}

const directory = new HeldDirectory();
const calls: string[] = [];
const blocked = new Map<string, () => void>();
let harness: EngineHarness;

beforeAll(async () => {
  harness = await createEngineHarness('trust');
  const actions = fakeActions(calls);
  const fake = actions.noop;
  // A step whose id starts with "blocks-" runs until the test releases it.
  actions.noop = async (request) => {
    if (request.stepId.startsWith('blocks-')) await new Promise<void>((resolve) => blocked.set(request.stepId, resolve));
    return fake(request);
  };
  await harness.startWorker(actions, { roles: directory });
});
afterAll(() => harness.close());

const noop = (id: string, extra: Record<string, unknown> = {}) => ({ id, action: 'noop', ...extra });
const gate = (timeout = '1h') => ({ id: 'approve', approval: { approvers: ['incident-commander'], timeout } });
const as = (actor: string, extra: Partial<ControlRequest> = {}): ControlRequest => ({ actor, channel: 'api', ...extra });

async function start(spec: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const input: RunbookRunInput = { runbook: runbook(spec), requestedBy: 'rita', channel: 'api', ...extra };
  return harness.client.workflow.start(RUNBOOK_WORKFLOW, { workflowId: uniqueId('trust'), taskQueue: harness.taskQueue, args: [input] });
}

async function finalState(runId: string): Promise<RunState> {
  const failure = await harness.client.workflow.getHandle(runId).result().then(() => undefined, (error: unknown) => error);
  if (failure) expect(failure).toBeInstanceOf(WorkflowFailedError);
  await settledEvents(harness, runId);
  return (await harness.store.getRun(runId))!.state;
}

const until = (runId: string, ready: (state: RunState) => boolean) => waitForState(harness.client, runId, ready, 20_000);
const waiting = (state: RunState) => state.status === 'waiting-approval';
const approvals = async (runId: string) => (await harness.pool.query('SELECT actor, decision FROM approvals WHERE run_id = $1', [runId])).rows;
const callsOf = (ids: string[]) => calls.filter((id) => ids.includes(id));

async function askedFor(user: string): Promise<void> {
  const times = () => directory.asked.filter((asked) => asked === user).length;
  const before = times();
  await poll(async () => (times() > before ? true : undefined), 10_000, `nobody looked up the roles of ${user}`, 20);
}

describe('roles are the worker\'s', () => {
  it('a role map in the run\'s input changes nothing: the approver needs a role the worker knows', async () => {
    const handle = await start({ steps: [gate()] }, { roles: { mallory: ['incident-commander'] } });
    await until(handle.workflowId, waiting);
    await expect(sendControl(harness, handle.workflowId, 'approve', as('mallory')))
      .rejects.toThrow(new ControlForbidden(`mallory cannot approve gate approve of run ${handle.workflowId}: it needs incident-commander and mallory holds no role`));
    await sendControl(harness, handle.workflowId, 'abort', as('rita'));
    expect(await approvals(handle.workflowId)).toEqual([]);
  });

  it('a role revoked while the run waits at its gate applies to that gate', async () => {
    const handle = await start({ steps: [gate()] });
    await until(handle.workflowId, waiting);
    directory.roles.ivan = [];
    try {
      await expect(sendControl(harness, handle.workflowId, 'approve', as('ivan'))).rejects.toThrow(ControlForbidden);
    } finally {
      directory.roles.ivan = ['incident-commander'];
    }
    expect(await sendControl(harness, handle.workflowId, 'approve', as('ivan'))).toBe(`approved gate approve of run ${handle.workflowId}`);
    expect((await finalState(handle.workflowId)).status).toBe('succeeded');
    expect(await approvals(handle.workflowId)).toEqual([{ actor: 'ivan', decision: 'approved' }]);
  });
});

describe('gates close when they close', () => {
  it('an approval being judged when the gate times out is refused, not acknowledged', async () => {
    const handle = await start({ steps: [gate('2s'), noop('after-gate')] });
    await until(handle.workflowId, waiting);
    const release = directory.hold('ivan');
    const approval = sendControl(harness, handle.workflowId, 'approve', as('ivan')).catch((error: unknown) => error);
    await askedFor('ivan');
    await until(handle.workflowId, (state) => state.steps[0]?.status === 'failed');
    release();
    const refused = await approval;
    expect(refused).toBeInstanceOf(ControlConflict);
    expect(String(refused)).toMatch(/gate approve of run \S+ is closed: it timed out at .* after 2s without a decision; nothing changed/);
    const state = await finalState(handle.workflowId);
    expect(state.reason).toBe('step approve failed: approval gate approve had no decision within 2s');
    expect(await approvals(handle.workflowId)).toEqual([]);
    expect(callsOf(['after-gate'])).toEqual([]);
  });

  it('an approval racing an abort: the abort lands, the approval is refused', async () => {
    const handle = await start({ steps: [noop('race-before'), gate(), noop('race-after')], rollback: [noop('race-undo', { compensates: 'race-before' })] });
    await until(handle.workflowId, waiting);
    const release = directory.hold('ivan');
    const approval = sendControl(harness, handle.workflowId, 'approve', as('ivan')).catch((error: unknown) => error);
    await askedFor('ivan');
    expect(await sendControl(harness, handle.workflowId, 'abort', as('rita', { comment: 'standby is behind' }))).toContain('aborted');
    release();
    const refused = await approval;
    expect(refused).toBeInstanceOf(ControlConflict);
    expect(String(refused)).toContain(`run ${handle.workflowId} was aborted by rita`);
    const state = await finalState(handle.workflowId);
    expect(state.status).toBe('aborted');
    expect(callsOf(['race-before', 'race-after', 'race-undo'])).toEqual(['race-before', 'race-undo']);
    expect(await approvals(handle.workflowId)).toEqual([]);
  });
});

describe('a control being judged holds the next side effect back', () => {
  it('an abort sent while a step finishes runs no further step: the next one never starts', async () => {
    const handle = await start({ steps: [noop('blocks-first'), noop('second')], rollback: [noop('undo-first', { compensates: 'blocks-first' })] });
    await until(handle.workflowId, (state) => state.currentStep === 'blocks-first');
    const release = directory.hold('ivan');
    const abort = sendControl(harness, handle.workflowId, 'abort', as('ivan'));
    await askedFor('ivan');
    blocked.get('blocks-first')?.();
    await until(handle.workflowId, (state) => state.steps[0]?.status === 'succeeded');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await waitForState(harness.client, handle.workflowId, () => true)).steps[1]?.status).toBe('pending');
    release();
    expect(await abort).toContain('aborted');
    const state = await finalState(handle.workflowId);
    expect(state.status).toBe('aborted');
    expect(callsOf(['blocks-first', 'second', 'undo-first'])).toEqual(['blocks-first', 'undo-first']);
  });

  it('a control whose sender stopped waiting is refused when it arrives, so it never lands later', async () => {
    const handle = await start({ steps: [gate()] });
    await until(handle.workflowId, waiting);
    const late = harness.client.workflow.getHandle(handle.workflowId).executeUpdate(approveUpdate, { args: [as('ivan', { expiresAt: new Date(Date.now() - 1_000).toISOString() })] });
    const failure = await late.catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((failure as WorkflowUpdateFailedError).cause?.message).toMatch(/after its sender stopped waiting .*; it was not applied, send it again/);
    expect((await waitForState(harness.client, handle.workflowId, () => true)).status).toBe('waiting-approval');
    await sendControl(harness, handle.workflowId, 'abort', as('rita'));
  });
});

describe('pre-flight', () => {
  it('fails the run before its first step when a target\'s variable is missing on the worker, naming both', async () => {
    const handle = await start({
      targets: { 'orders-db': { type: 'postgres', url: '${ORDERS_DB_URL_NOT_SET}' } },
      steps: [noop('never-runs'), { id: 'query', action: 'postgres.query', target: 'orders-db', with: { sql: 'SELECT 1' } }],
      rollback: [noop('never-undone', { compensates: 'never-runs' })],
    });
    const state = await finalState(handle.workflowId);
    expect(state.status).toBe('failed');
    expect(state.reason).toMatch(/^pre-flight failed before any step ran: target orders-db: environment variable ORDERS_DB_URL_NOT_SET \(used in url\) is not set/);
    expect(state.steps.map((step) => step.status)).toEqual(['pending', 'pending']);
    expect(callsOf(['never-runs', 'never-undone'])).toEqual([]);
  });

  it('fails the run when nobody but the requester could decide one of its gates', async () => {
    const input: RunbookRunInput = { runbook: runbook({ steps: [noop('lonely-before'), gate()] }), requestedBy: 'ivan', channel: 'api' };
    const handle = await harness.client.workflow.start(RUNBOOK_WORKFLOW, { workflowId: uniqueId('lonely'), taskQueue: harness.taskQueue, args: [input] });
    const state = await finalState(handle.workflowId);
    expect(state.reason).toContain('gate approve needs incident-commander and nobody but ivan holds it');
    expect(callsOf(['lonely-before'])).toEqual([]);
  });
});

describe('no worker', () => {
  it('a control on a task queue nobody polls fails within seconds, naming the queue', async () => {
    const taskQueue = uniqueId('nobody-polls');
    const input: RunbookRunInput = { runbook: runbook({ steps: [gate()] }), requestedBy: 'rita', channel: 'api' };
    const handle = await harness.client.workflow.start(RUNBOOK_WORKFLOW, { workflowId: uniqueId('orphan'), taskQueue, args: [input] });
    const started = Date.now();
    const failure = await sendControl({ ...harness, taskQueue }, handle.workflowId, 'approve', as('ivan')).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StackUnavailable);
    expect(String(failure)).toContain(`no worker is polling task queue ${taskQueue}`);
    expect(Date.now() - started).toBeLessThan(5_000);
    await handle.terminate('test over');
  });
});

