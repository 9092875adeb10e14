import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFailover } from '../../runtime/failovers.ts';
import { APPROVE_ACTION } from '../../slack/ids.ts';
import { stateQuery, type FailoverRunInput } from '../../workflows/definitions.ts';
import { uniqueId } from '../support/db.ts';
import { settledEvents } from '../support/engine.ts';
import { until } from '../support/poll.ts';
import { CHANNEL, SIGNING_SECRET, startedRunId, startSlackStage, type SlackStage } from '../support/slack-app.ts';
import { postToSlackEvents, sign, slashCommandBody } from '../support/slack-requests.ts';

/**
 * /golive against golive's server: Slack's signature as the only way in, a failover started by an
 * incident commander and approved by another one's click, and mistakes answered with what to type.
 */
let stage: SlackStage;

const runbook = `apiVersion: golive/v1
kind: Runbook
metadata: { name: slack-failover, service: orders }
spec:
  strategy: warm-standby
  objectives: { rpo: 5m, rto: 30m }
  steps:
    - { id: check, action: noop }
    - { id: approve-failover, approval: { approvers: [incident-commander], timeout: 1h, message: Promote the standby? } }
    - { id: promote, action: noop }
`;

/** A protected service whose backups were never taken: posture calls it at risk. */
const protectedRunbook = `apiVersion: golive/v1
kind: Runbook
metadata: { name: slack-backup-restore, service: payments }
spec:
  strategy: backup-restore
  objectives: { rpo: 24h, rto: 24h }
  targets:
    source: { type: postgres, url: "postgres://127.0.0.1:9/payments" }
    server: { type: postgres, url: "postgres://127.0.0.1:9/postgres" }
    backups: { type: filesystem, path: /nonexistent/golive-backups }
  backup: { source: source, store: backups, retention: { keep: 3 } }
  drill: { server: server }
  steps: [{ id: noop, action: noop }]
`;

const plan = `apiVersion: golive/v1
kind: RolloutPlan
metadata: { name: slack-unsigned-rollout, service: checkout }
spec:
  flag: { key: ${uniqueId('slack-unsigned-flag')} }
  phases: [{ percent: 100, bake: 1s }]
`;

const ephemeralWith = (words: string) => ({ response_type: 'ephemeral', replace_original: false, text: expect.stringContaining(words) });

/** `/golive TEXT` answered in the ack itself: a mistake or help. */
async function ackText(user: string, text: string): Promise<string> {
  const answer = await stage.command(user, text);
  expect([answer.status, answer.json.response_type, answer.json.replace_original]).toEqual([200, 'ephemeral', false]);
  expect(answer.ms).toBeLessThan(3_000);
  return String(answer.json.text);
}

/** `/golive TEXT` acked empty, then answered through its response_url. */
async function laterText(user: string, text: string): Promise<string> {
  const answer = await stage.command(user, text);
  expect([answer.status, answer.text]).toEqual([200, '']);
  expect(answer.ms).toBeLessThan(3_000);
  const reply = await stage.reply(answer.replyTo);
  expect(reply).toMatchObject({ response_type: 'ephemeral', replace_original: false });
  return String(reply.text);
}

const workflowCount = async () => (await stage.harness.client.workflow.count(`TaskQueue = '${stage.harness.taskQueue}'`)).count;

beforeAll(async () => {
  stage = await startSlackStage('slack_commands', { 'failover.yaml': runbook, 'rollout.yaml': plan, 'protected.yaml': protectedRunbook });
});

afterAll(async () => {
  if (stage) expect(Math.max(...stage.answerTimes)).toBeLessThan(3_000);
  await stage?.close();
});

describe('POST /slack/events', () => {
  it('answers 401 to forged, unsigned and stale requests, and starts nothing', async () => {
    const before = await workflowCount();
    const body = (id: string) => slashCommandBody({ user: 'U0RITA', text: 'rollout start slack-unsigned-rollout', channel: CHANNEL, responseUrl: stage.slack.responseUrl(id) });
    const forged = await postToSlackEvents(stage.eventsUrl, sign('0123456789abcdef0123456789abcdef', body('forged')));
    const { 'x-slack-signature': _signature, 'x-slack-request-timestamp': _timestamp, ...unsignedHeaders } = sign(SIGNING_SECRET, body('unsigned')).headers;
    const unsigned = await postToSlackEvents(stage.eventsUrl, { body: body('unsigned'), headers: unsignedHeaders });
    const stale = await postToSlackEvents(stage.eventsUrl, sign(SIGNING_SECRET, body('stale'), Math.floor(Date.now() / 1000) - 6 * 60));
    const signed = sign(SIGNING_SECRET, body('tampered'));
    const tampered = await postToSlackEvents(stage.eventsUrl, { ...signed, body: signed.body.replace('U0RITA', 'U0ROB') });
    for (const reply of [forged, unsigned, stale, tampered]) {
      expect(reply.status).toBe(401);
      expect(JSON.parse(reply.text)).toEqual({ error: { code: 'unauthorized', message: expect.stringContaining('not a request from Slack') } });
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(stage.slack.calls('response_url')).toEqual([]);
    expect(await workflowCount()).toBe(before);
  });

  it('answers Slack\'s URL verification and certificate check', async () => {
    const challenge = await postToSlackEvents(stage.eventsUrl, {
      ...sign(SIGNING_SECRET, JSON.stringify({ type: 'url_verification', token: 'unused', challenge: 'c-123' })),
      headers: { ...sign(SIGNING_SECRET, JSON.stringify({ type: 'url_verification', token: 'unused', challenge: 'c-123' })).headers, 'content-type': 'application/json' },
    });
    expect([challenge.status, JSON.parse(challenge.text)]).toEqual([200, { challenge: 'c-123' }]);
    const sslCheck = await postToSlackEvents(stage.eventsUrl, { body: 'ssl_check=1&token=unused', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect([sslCheck.status, sslCheck.text]).toEqual([200, '']);
  });
});

describe('/golive', () => {
  it('answers mistakes at once with what to type instead', async () => {
    expect(await ackText('U0RITA', 'rollout')).toContain('`/golive rollout` needs more: type `/golive rollout start PLAN [comment]`');
    expect(await ackText('U0RITA', 'frobnicate')).toContain('`frobnicate` is not a golive command: type `/golive help`');
    expect(await ackText('U0IVAN', 'failover start slack-failover')).toContain(
      'REASON (why you fail over: the incident) is missing: type `/golive failover start RUNBOOK [--drill ENVIRONMENT] REASON`',
    );
    expect(await ackText('U0IVAN', 'help')).toContain('`/golive approve RUN [--step STEP] [comment]`');
  });

  it('refuses a failover to anyone but an incident commander, and names what golive does not have', async () => {
    expect(await laterText('U0RITA', 'failover start slack-failover region down')).toBe(
      ':no_entry: <@U0RITA> cannot start a failover: only an incident commander may (<@U0RITA> holds release-manager); grant with `golive roles grant U0RITA incident-commander`',
    );
    expect(await laterText('U0IVAN', 'failover start no-such-runbook region down')).toContain("no runbook named no-such-runbook in the server's runbooks folder (known: slack-backup-restore, slack-failover)");
    expect(await laterText('U0ADAM', 'rollout start slack-unsigned-rollout')).toContain('<@U0ADAM> cannot start a rollout: only a release manager may');
    expect(await laterText('U0IVAN', 'status no-such-run')).toBe(':no_entry: no run no-such-run: list runs with `golive runs`');
  });

  it('starts a failover for an incident commander; another one approves it with the button, and the record says who', async () => {
    const started = await laterText('U0IVAN', 'failover start slack-failover region eu-west-1 is down');
    expect(started).toContain('Started the failover of slack-failover');
    const runId = startedRunId({ text: started });
    const handle = stage.harness.client.workflow.getHandle(runId);
    const waiting = await until(async () => {
      const state = await handle.query(stateQuery);
      return state.gate ? state : undefined;
    }, 30_000, `failover ${runId} never waited at its gate`, 100);
    expect(waiting.gate).toMatchObject({ stepId: 'approve-failover', approvers: ['incident-commander'] });
    const history = await handle.fetchHistory();
    const input = defaultPayloadConverter.fromPayload<FailoverRunInput>(history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!);
    expect(input).toMatchObject({ requestedBy: 'U0IVAN', channel: 'slack', reason: 'region eu-west-1 is down', slackChannel: CHANNEL });

    expect(await laterText('U0IVAN', `status ${runId}`)).toContain('Waiting at gate `approve-failover` for incident-commander');
    const own = await stage.click('U0IVAN', APPROVE_ACTION, { runId, stepId: 'approve-failover' });
    expect(await stage.reply(own.replyTo)).toEqual(ephemeralWith('four-eyes: <@U0IVAN> requested run'));
    const approved = await stage.click('U0INES', APPROVE_ACTION, { runId, stepId: 'approve-failover' });
    expect([approved.status, approved.text]).toEqual([200, '']);
    expect(await stage.reply(approved.replyTo)).toEqual(ephemeralWith(':white_check_mark:'));

    const record = await until(async () => {
      const found = await readFailover(stage.harness.pool, runId).catch(() => undefined);
      return found?.status === 'succeeded' ? found : undefined;
    }, 30_000, `failover ${runId} never succeeded`, 200);
    expect(record).toMatchObject({ requestedBy: 'U0IVAN', reason: 'region eu-west-1 is down', drill: false });
    expect(record.steps.find((step) => step.id === 'approve-failover')).toMatchObject({ status: 'succeeded', actor: 'U0INES' });
    const events = await settledEvents(stage.harness, runId);
    expect(events.find((event) => event.action === 'run.started')).toMatchObject({ actor: 'U0IVAN', channel: 'slack' });
    expect(events.find((event) => event.action === 'approval.approved')).toMatchObject({ actor: 'U0INES', channel: 'slack', stepId: 'approve-failover' });

    const status = await laterText('U0INES', `failover status ${runId}`);
    expect(status).toContain(`*Failover \`${runId}\`* of slack-failover for orders: *succeeded*.`);
    expect(status).toContain('Reason: region eu-west-1 is down (requested by <@U0IVAN>).');
    expect(await laterText('U0INES', `rollout abort ${runId}`)).toBe(
      `:no_entry: run ${runId} is a failover run, not a rollout; nothing changed. To abort it, type \`/golive failover abort ${runId}\``,
    );
  });

  it('reads posture and drill history, and starts a restore drill for someone who may control runs', async () => {
    expect(await laterText('U0ADAM', 'posture')).toContain(':red_circle: *payments* at-risk: no backup, never drilled.');
    expect(await laterText('U0ADAM', 'drill history')).toBe('No drills recorded yet.');
    expect(await laterText('U0ADAM', 'drill run slack-backup-restore')).toBe(
      ':no_entry: <@U0ADAM> cannot start a restore drill: only a release-manager or incident-commander may (<@U0ADAM> holds approver)',
    );
    const started = await laterText('U0IVAN', 'drill run slack-backup-restore');
    expect(started).toMatch(/^:rocket: Started a restore drill of slack-backup-restore: `slack-backup-restore-drill-\d{8}-\d{4}-[0-9a-f]{4}`/);
  });
});
