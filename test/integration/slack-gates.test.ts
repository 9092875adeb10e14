import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRollout } from '../../runtime/rollouts.ts';
import { REASON_REQUIRED } from '../../slack/listeners/views/reject-reason.ts';
import { APPROVE_ACTION, REJECT_ACTION, type GateRef } from '../../slack/ids.ts';
import { rolloutQuery, stateQuery, type RolloutRecord, type RunState } from '../../workflows/definitions.ts';
import { uniqueId } from '../support/db.ts';
import { settledEvents } from '../support/engine.ts';
import { until } from '../support/poll.ts';
import { CHANNEL, startedRunId, startSlackStage, type SlackStage } from '../support/slack-app.ts';

/**
 * A rollout started with /golive and decided with the buttons of its gate, against a real worker
 * and golive's server: the Slack user who clicks is the actor, the workflow judges roles and
 * four-eyes, and every refusal is answered to the clicker alone while the run keeps waiting.
 */
let stage: SlackStage;
const approveFlag = uniqueId('slack-approve-flag');
const rejectFlag = uniqueId('slack-reject-flag');

/** 50% bakes 1s; 100% waits for a release manager, then bakes 1s. */
const plan = (name: string, flag: string) => `apiVersion: golive/v1
kind: RolloutPlan
metadata: { name: ${name}, service: checkout }
spec:
  flag: { key: ${flag} }
  phases:
    - { percent: 50, bake: 1s }
    - { percent: 100, bake: 1s, approval: { approvers: [release-manager], timeout: 5m, message: Everyone? } }
`;

const ephemeralWith = (words: string) => ({ response_type: 'ephemeral', replace_original: false, text: expect.stringContaining(words) });

async function startRollout(user: string, planName: string, comment = ''): Promise<string> {
  const started = await stage.command(user, `rollout start ${planName} ${comment}`);
  expect([started.status, started.text]).toEqual([200, '']);
  expect(started.ms).toBeLessThan(3_000);
  const reply = await stage.reply(started.replyTo);
  expect(reply).toEqual(ephemeralWith(`Started the rollout of plan ${planName}`));
  return startedRunId(reply);
}

function stateOf(runId: string): Promise<RunState> {
  return stage.harness.client.workflow.getHandle(runId).query(stateQuery);
}

async function gateOf(runId: string): Promise<GateRef> {
  const state = await until(async () => {
    const current = await stateOf(runId);
    return current.gate ? current : undefined;
  }, 30_000, `rollout ${runId} never waited at a gate`, 100);
  return { runId, stepId: state.gate!.stepId };
}

function finished(runId: string): Promise<RolloutRecord> {
  const live = (id: string) => stage.harness.client.workflow.getHandle(id).query(rolloutQuery);
  return until(async () => {
    const record = await readRollout(stage.harness.pool, runId, live).catch(() => undefined);
    return record?.finishedAt ? record : undefined;
  }, 30_000, `rollout ${runId} never finished`, 200);
}

/** Clicks and waits for the answer to the clicker; the HTTP answer itself is an empty 200 within 3 s. */
async function clickAnswer(user: string, actionId: string, gate: GateRef): Promise<Record<string, unknown>> {
  const click = await stage.click(user, actionId, gate);
  expect([click.status, click.text]).toEqual([200, '']);
  expect(click.ms).toBeLessThan(3_000);
  return stage.reply(click.replyTo);
}

beforeAll(async () => {
  stage = await startSlackStage('slack_gates', { 'approve.yaml': plan('slack-rollout', approveFlag), 'reject.yaml': plan('slack-reject-rollout', rejectFlag) });
});

afterAll(async () => {
  await stage?.close();
});

describe('the Approve button', () => {
  it('refuses the requester and people without the role, takes a second release manager\'s click, and answers a double click with who approved', async () => {
    const runId = await startRollout('U0RITA', 'slack-rollout', 'checkout v2 for everyone');
    const gate = await gateOf(runId);
    expect(gate.stepId).toBe('approve-100');

    expect(await clickAnswer('U0RITA', APPROVE_ACTION, gate)).toEqual(ephemeralWith(`four-eyes: <@U0RITA> requested run ${runId} and cannot approve its gate approve-100`));
    expect(await clickAnswer('U0NOBODY', APPROVE_ACTION, gate)).toEqual(
      ephemeralWith(`<@U0NOBODY> cannot approve gate approve-100 of run ${runId}: it needs release-manager and <@U0NOBODY> holds no role`),
    );
    expect(await clickAnswer('U0ADAM', APPROVE_ACTION, gate)).toEqual(ephemeralWith('<@U0ADAM> holds approver'));
    expect(await stateOf(runId)).toMatchObject({ status: 'waiting-approval', gate: { stepId: 'approve-100' } });
    expect((await stage.flags.read(approveFlag, 'production'))?.percent).toBe(50);

    expect(await clickAnswer('U0ROB', APPROVE_ACTION, gate)).toEqual(ephemeralWith(':white_check_mark:'));
    const again = await clickAnswer('U0ROB', APPROVE_ACTION, gate);
    expect(again).toEqual(ephemeralWith(`gate approve-100 of run ${runId} was already approved by <@U0ROB>`));
    expect(await clickAnswer('U0RITA', APPROVE_ACTION, gate)).toEqual(ephemeralWith('was already approved by <@U0ROB>'));

    const record = await finished(runId);
    expect(record).toMatchObject({ status: 'succeeded', percent: 100, requestedBy: 'U0RITA' });
    // The workflow closed and its last audit batch is written: what a click after the end is judged by.
    await settledEvents(stage.harness, runId);
    const afterTheEnd = await clickAnswer('U0ROB', APPROVE_ACTION, gate);
    expect(String(afterTheEnd.text)).toMatch(new RegExp(`gate approve-100 of run ${runId} was already approved by <@U0ROB> at .*; the run finished \\(succeeded\\); nothing changed`));
    expect(record.phases.map((phase) => phase.approvedBy)).toEqual([undefined, 'U0ROB']);
    expect((await stage.flags.read(approveFlag, 'production'))?.percent).toBe(100);

    const events = await settledEvents(stage.harness, runId);
    expect(events.find((event) => event.action === 'run.started')).toMatchObject({ actor: 'U0RITA', channel: 'slack', detail: { comment: 'checkout v2 for everyone' } });
    const decisions = events.filter((event) => event.action.startsWith('approval.') && event.action !== 'approval.requested');
    expect(decisions.map((event) => [event.action, event.actor, event.channel, event.stepId])).toEqual([['approval.approved', 'U0ROB', 'slack', 'approve-100']]);
  });

  it('answers a button that names no gate golive knows without touching any run', async () => {
    const answer = await clickAnswer('U0ROB', APPROVE_ACTION, { runId: 'no-such-run-20261129-0000-0000', stepId: 'approve-100' });
    expect(answer).toEqual(ephemeralWith('no run no-such-run-20261129-0000-0000'));
  });
});

describe('the Reject button', () => {
  it('opens a modal for the reason; an empty reason is the field\'s error; a reason rejects the gate and rolls the flag back', async () => {
    const runId = await startRollout('U0ROB', 'slack-reject-rollout');
    const gate = await gateOf(runId);

    const opened = stage.slack.calls('views.open').length;
    expect(await clickAnswer('U0ROB', REJECT_ACTION, gate)).toEqual(ephemeralWith(`four-eyes: <@U0ROB> requested run ${runId} and cannot reject its gate approve-100`));
    expect(await clickAnswer('U0ADAM', REJECT_ACTION, gate)).toEqual(ephemeralWith('it needs release-manager and <@U0ADAM> holds approver'));
    expect(stage.slack.calls('views.open')).toHaveLength(opened);

    const click = await stage.click('U0RITA', REJECT_ACTION, gate);
    expect([click.status, click.text]).toEqual([200, '']);
    expect(click.ms).toBeLessThan(3_000);
    const open = await until(async () => stage.slack.calls('views.open')[opened], 10_000, 'the reject modal never opened');
    expect(String(open.trigger_id)).toMatch(/^trigger-U0RITA-/);
    const view = open.view as { callback_id: string; private_metadata: string };
    expect(view.callback_id).toBe('golive_reject_reason');
    expect(JSON.parse(view.private_metadata)).toEqual({ runId, stepId: 'approve-100', channel: CHANNEL });

    const empty = await stage.submitReason('U0RITA', view.private_metadata, '   ');
    expect([empty.status, empty.json]).toEqual([200, { response_action: 'errors', errors: { reason: REASON_REQUIRED } }]);
    expect(await stateOf(runId)).toMatchObject({ status: 'waiting-approval' });

    const submitted = await stage.submitReason('U0RITA', view.private_metadata, 'p99 latency doubled at 50%');
    expect([submitted.status, submitted.text]).toEqual([200, '']);
    expect(submitted.ms).toBeLessThan(3_000);
    const told = await until(async () => stage.slack.calls('chat.postEphemeral').find((call) => call.user === 'U0RITA'), 20_000, 'the rejecter was never told');
    expect(told).toMatchObject({ channel: CHANNEL, text: expect.stringContaining(':white_check_mark:') });

    const record = await finished(runId);
    expect(record).toMatchObject({ status: 'rolled-back', percent: 0 });
    expect((await stage.flags.read(rejectFlag, 'production'))?.percent).toBe(0);
    const events = await settledEvents(stage.harness, runId);
    expect(events.find((event) => event.action === 'approval.rejected')).toMatchObject({
      actor: 'U0RITA', channel: 'slack', stepId: 'approve-100', detail: { comment: 'p99 latency doubled at 50%' },
    });

    const late = await stage.submitReason('U0RITA', view.private_metadata, 'again');
    expect(late.status).toBe(200);
    const refused = await until(async () => stage.slack.calls('chat.postEphemeral').filter((call) => call.user === 'U0RITA')[1], 20_000, 'the late rejecter was never told');
    expect(String(refused.text)).toContain('was already rejected by <@U0RITA>');
  });
});
