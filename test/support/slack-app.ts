import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createActionActivities } from '../../activities/catalog.ts';
import { parseRoles } from '../../definitions/roles.ts';
import { createRoleDirectory } from '../../runtime/roles.ts';
import { startHttpServer, type HttpServer } from '../../server/http.ts';
import { createFlagStore, type FlagStore } from '../../store/flags.ts';
import { createPgIdentityStore } from '../../store/identity.ts';
import { createPgProtectionStore } from '../../store/protection.ts';
import { encodeGate, REJECT_REASON_BLOCK, REJECT_REASON_INPUT, REJECT_VIEW, type GateRef } from '../../slack/ids.ts';
import { uniqueId } from './db.ts';
import { createEngineHarness, type EngineHarness } from './engine.ts';
import { until } from './poll.ts';
import { startSlackApi, type SlackApi } from './slack.ts';
import { buttonClickBody, postToSlackEvents, sign, slashCommandBody, viewSubmissionBody } from './slack-requests.ts';

/**
 * golive's server with its Slack app, a worker on the same task queue, and the fake Slack Web API.
 * Roles are keyed by Slack user ids: Rita and Rob release managers, Ivan and Ines incident
 * commanders, Adam an approver; U0NOBODY holds no role.
 */
export const SLACK_ROLES = parseRoles('U0RITA=release-manager,U0ROB=release-manager,U0IVAN=incident-commander,U0INES=incident-commander,U0ADAM=approver');
export const SIGNING_SECRET = '8f742231b10e8888abcd99aaaaaa85a5';
export const BOT_TOKEN = 'xoxb-golive-test-token';
export const CHANNEL = 'C0GOLIVE1';

export interface SlackAnswer {
  status: number;
  ms: number;
  text: string;
  /** The HTTP answer as JSON, or {} when it was empty or not JSON. */
  json: Record<string, unknown>;
}

export interface SlackStage {
  harness: EngineHarness;
  server: HttpServer;
  slack: SlackApi;
  flags: FlagStore;
  eventsUrl: string;
  /** How long each signed request took to be answered (ms): Slack waits 3 s at most. */
  answerTimes: number[];
  /** `/golive TEXT` typed by `user`; `replyTo` names its response_url. */
  command(user: string, text: string, replyTo?: string): Promise<SlackAnswer & { replyTo: string }>;
  /** A click on a gate's button by `user`; `replyTo` names its response_url. */
  click(user: string, actionId: string, gate: GateRef, replyTo?: string): Promise<SlackAnswer & { replyTo: string }>;
  /** A reject modal submitted by `user` with `reason`. */
  submitReason(user: string, privateMetadata: string, reason: string): Promise<SlackAnswer>;
  /** The first post to a response_url, once it arrives. */
  reply(replyTo: string): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

function answerOf(reply: { status: number; text: string; ms: number }): SlackAnswer {
  let json: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(reply.text);
    if (typeof parsed === 'object' && parsed !== null) json = parsed as Record<string, unknown>;
  } catch {
    json = {};
  }
  return { ...reply, json };
}

/** Starts the stage with these definition files (name → YAML) in the server's folder. */
export async function startSlackStage(prefix: string, files: Record<string, string>): Promise<SlackStage> {
  const harness = await createEngineHarness(prefix);
  const flags = createFlagStore(harness.pool);
  await harness.startWorker(createActionActivities({ env: {}, pgBin: '', flags }), { roles: createRoleDirectory(SLACK_ROLES), flags });
  const slack = await startSlackApi(BOT_TOKEN);
  const folder = await mkdtemp(join(tmpdir(), `golive-${prefix}-`));
  for (const [name, text] of Object.entries(files)) await writeFile(join(folder, name), text);
  const identity = createPgIdentityStore(harness.pool);
  const server = await startHttpServer(
    {
      store: harness.store, protection: createPgProtectionStore(harness.pool), identity, roles: createRoleDirectory(SLACK_ROLES, identity),
      runbooksDir: folder, rolloutsDir: folder, checklistsDir: folder, client: harness.client, pool: harness.pool, taskQueue: harness.taskQueue,
      slack: { token: BOT_TOKEN, apiUrl: slack.apiUrl, signingSecret: SIGNING_SECRET, socketMode: false },
    },
    { host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }) },
  );
  const eventsUrl = `${server.url}/slack/events`;
  const answerTimes: number[] = [];
  const post = async (body: string) => {
    const answer = answerOf(await postToSlackEvents(eventsUrl, sign(SIGNING_SECRET, body)));
    answerTimes.push(answer.ms);
    return answer;
  };
  return {
    harness, server, slack, flags, eventsUrl, answerTimes,
    async command(user, text, replyTo = uniqueId('command')) {
      return { ...(await post(slashCommandBody({ user, text, channel: CHANNEL, responseUrl: slack.responseUrl(replyTo) }))), replyTo };
    },
    async click(user, actionId, gate, replyTo = uniqueId('click')) {
      return { ...(await post(buttonClickBody({ user, actionId, value: encodeGate(gate), channel: CHANNEL, responseUrl: slack.responseUrl(replyTo) }))), replyTo };
    },
    submitReason: (user, privateMetadata, reason) =>
      post(viewSubmissionBody({ user, callbackId: REJECT_VIEW, privateMetadata, values: { [REJECT_REASON_BLOCK]: { [REJECT_REASON_INPUT]: reason } } })),
    reply: (replyTo) => until(async () => {
      const found = slack.received.find((request) => request.method === 'response_url' && request.path.endsWith(`/${replyTo}`));
      return found?.body;
    }, 20_000, `nothing was posted to response_url ${replyTo}`),
    async close() {
      await server.close();
      await slack.close();
      await harness.close();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

/** The run id a start answered with. */
export function startedRunId(reply: Record<string, unknown>): string {
  const match = /Started .*: `([^`]+)`/.exec(String(reply.text));
  if (!match?.[1]) throw new Error(`no run id in the answer: ${String(reply.text)}`);
  return match[1];
}
