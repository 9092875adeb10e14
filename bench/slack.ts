/**
 * How fast golive acknowledges Slack: ROUNDS rounds of CONCURRENT signed `/golive rollout start`
 * slash commands sent at once to golive's POST /slack/events, each timed from the request to the
 * HTTP answer (the ack Slack waits up to 3 s for), and to the follow-up golive posts to the
 * command's response_url once the rollout started. The raw tool: a bare Bolt App on Bolt's own
 * HTTPReceiver that acks the same signed requests and does nothing else. golive's path adds the
 * fastify route, the command parser, and a Temporal workflow start after the ack. Target: ack p99
 * under 300 ms with 20 commands at once.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { App } from '@slack/bolt';
import { parseRoles } from '../definitions/roles.ts';
import { createLogger } from '../runtime/logger.ts';
import { createRoleDirectory } from '../runtime/roles.ts';
import { startHttpServer } from '../server/http.ts';
import { freePort } from '../stack/process.ts';
import { createPgIdentityStore } from '../store/identity.ts';
import { createPgProtectionStore } from '../store/protection.ts';
import { createPgRunStore } from '../store/runs.ts';
import { startSlackApi, type SlackApi } from '../test/support/slack.ts';
import { postToSlackEvents, sign, slashCommandBody } from '../test/support/slack-requests.ts';
import { ms, percentile } from './stats.ts';
import { withBenchStack } from './stack.ts';

const CONCURRENT = Number(process.env.BENCH_CONCURRENCY ?? 20);
const ROUNDS = Number(process.env.BENCH_RUNS ?? 5);
const TARGET_P99_MS = 300;
/** A signing secret made for this run: the requests are signed with it as Slack signs them. */
const SIGNING = randomBytes(16).toString('hex');
const TOKEN = 'xoxb-bench-slack';
const ROLES = 'U0RITA=release-manager,U0ROB=release-manager';
const PLAN = 'bench-rollout';

/** A rollout plan whose first phase waits for approval: starting it touches no flag. */
const PLAN_YAML = `apiVersion: golive/v1
kind: RolloutPlan
metadata: {name: ${PLAN}, service: bench}
spec:
  flag: {key: bench-flag}
  phases:
    - {percent: 10, bake: 1m, approval: {approvers: [release-manager], timeout: 1h}}
    - {percent: 100, bake: 1m}
`;

interface Round {
  ack: number[];
  followUp: number[];
}

/** CONCURRENT commands at once; each one's ack time, and (when `slack` records them) its follow-up time. */
async function round(url: string, slack: SlackApi | undefined, tag: string): Promise<Round> {
  const started = new Map<string, number>();
  const requests = Array.from({ length: CONCURRENT }, (_, index) => {
    const id = `${tag}-${index}`;
    const responseUrl = slack ? slack.responseUrl(id) : `http://127.0.0.1:9/respond/${id}`;
    return { id, signed: sign(SIGNING, slashCommandBody({ user: 'U0RITA', text: `rollout start ${PLAN}`, responseUrl })) };
  });
  const answers = await Promise.all(requests.map(async ({ id, signed }) => {
    started.set(id, Date.now());
    const answer = await postToSlackEvents(url, signed);
    if (answer.status !== 200) throw new Error(`/slack/events answered ${answer.status}: ${answer.text}`);
    return answer.ms;
  }));
  if (!slack) return { ack: answers, followUp: [] };
  const deadline = Date.now() + 30_000;
  const followUps = () => slack.received.filter((request) => request.method === 'response_url' && started.has(request.path.split('/').at(-1) ?? ''));
  while (followUps().length < CONCURRENT && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  const followUp = followUps().map((request) => request.at - (started.get(request.path.split('/').at(-1) ?? '') ?? request.at));
  return { ack: answers, followUp };
}

/** A bare Bolt App on its own HTTPReceiver that only acks `/golive`: the floor any Bolt app stands on. */
async function startRawBolt(apiUrl: string): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const app = new App({ signingSecret: SIGNING, token: TOKEN, port, clientOptions: { slackApiUrl: apiUrl } });
  app.command('/golive', async ({ ack }) => {
    await ack();
  });
  await app.start(port);
  return { url: `http://127.0.0.1:${port}/slack/events`, stop: () => app.stop().then(() => undefined) };
}

function line(label: string, values: readonly number[]): string {
  return `  ${label.padEnd(44)} p50 ${ms(percentile(values, 0.5)).padStart(9)}   p99 ${ms(percentile(values, 0.99)).padStart(9)}   max ${ms(Math.max(...values)).padStart(9)}   n=${values.length}`;
}

export async function benchSlack(): Promise<void> {
  console.log(`\nSlack: ${ROUNDS} rounds of ${CONCURRENT} signed /golive commands at once (target: ack p99 < ${TARGET_P99_MS} ms; Slack allows 3 s)`);
  const roles = parseRoles(ROLES);
  await withBenchStack(async ({ client, taskQueue, pool, scratch }) => {
    const slack = await startSlackApi(TOKEN);
    const rolloutsDir = join(scratch, 'rollouts');
    await mkdir(rolloutsDir, { recursive: true });
    await writeFile(join(rolloutsDir, `${PLAN}.yaml`), PLAN_YAML);
    const identity = createPgIdentityStore(pool);
    const server = await startHttpServer({
      store: createPgRunStore(pool), protection: createPgProtectionStore(pool), identity, roles: createRoleDirectory(roles, identity),
      runbooksDir: scratch, rolloutsDir, checklistsDir: scratch, client, pool, taskQueue,
      slack: { token: TOKEN, apiUrl: slack.apiUrl, signingSecret: SIGNING, socketMode: false },
    }, { host: '127.0.0.1', port: 0, logger: createLogger('silent', 'golive-bench') });
    const raw = await startRawBolt(slack.apiUrl);
    try {
      const golive: Round = { ack: [], followUp: [] };
      const bare: Round = { ack: [], followUp: [] };
      await round(`${server.url}/slack/events`, slack, 'warm-up');
      await round(raw.url, undefined, 'warm-up');
      for (let index = 0; index < ROUNDS; index += 1) {
        const ours = await round(`${server.url}/slack/events`, slack, `round-${index}`);
        const theirs = await round(raw.url, undefined, `raw-${index}`);
        golive.ack.push(...ours.ack);
        golive.followUp.push(...ours.followUp);
        bare.ack.push(...theirs.ack);
      }
      console.log(line('golive ack (HTTP answer to Slack)', golive.ack));
      console.log(line('bare Bolt HTTPReceiver ack', bare.ack));
      console.log(line('golive follow-up (run id at response_url)', golive.followUp));
      const p99 = percentile(golive.ack, 0.99);
      const ratio = p99 / percentile(bare.ack, 0.99);
      console.log(`  ack p99 ${ms(p99)}: ${p99 < TARGET_P99_MS ? 'meets' : 'MISSES'} the ${TARGET_P99_MS} ms target; ${ratio.toFixed(2)}× the bare Bolt app's p99`);
      console.log(`  follow-ups received: ${golive.followUp.length} of ${ROUNDS * CONCURRENT}`);
    } finally {
      await raw.stop();
      await server.close();
      await slack.close();
    }
  }, { roles });
}
