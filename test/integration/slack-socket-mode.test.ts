import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { createRoleDirectory } from '../../runtime/roles.ts';
import { startHttpServer, type HttpServer } from '../../server/http.ts';
import { createPgIdentityStore } from '../../store/identity.ts';
import { createPgProtectionStore } from '../../store/protection.ts';
import { createEngineHarness, type EngineHarness } from '../support/engine.ts';
import { until } from '../support/poll.ts';
import { startSlackApi, type SlackApi } from '../support/slack.ts';
import { BOT_TOKEN, SLACK_ROLES } from '../support/slack-app.ts';
import { TEAM } from '../support/slack-requests.ts';

/**
 * Socket Mode as Slack speaks it: the app asks apps.connections.open (with the app-level token) for a
 * WebSocket URL, connects, gets `hello`, then receives envelopes and acknowledges each by its
 * envelope_id, with the answer as the ack's payload.
 */

let harness: EngineHarness;
let slack: SlackApi;
let sockets: WebSocketServer;
let server: HttpServer;
let socket: WebSocket;
const acks = new Map<string, Record<string, unknown>>();

/** Sends a `/golive TEXT` envelope and waits for its ack. */
async function command(text: string, user = 'U0NOBODY', replyTo = `socket-${Math.random().toString(36).slice(2)}`) {
  const envelopeId = `envelope-${replyTo}`;
  const payload = {
    token: 'unused', team_id: TEAM.id, team_domain: TEAM.domain, channel_id: 'C0GOLIVE1', channel_name: 'ops', user_id: user, user_name: user.toLowerCase(),
    command: '/golive', text, api_app_id: 'AGOLIVE', response_url: slack.responseUrl(replyTo), trigger_id: `trigger-${replyTo}`,
  };
  socket.send(JSON.stringify({ envelope_id: envelopeId, type: 'slash_commands', payload, accepts_response_payload: true }));
  const ack = await until(async () => acks.get(envelopeId), 10_000, `no ack for ${text}`);
  return { ack, replyTo };
}

beforeAll(async () => {
  harness = await createEngineHarness('slack_socket');
  sockets = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => sockets.once('listening', resolve));
  const connected = new Promise<WebSocket>((resolve) => {
    sockets.on('connection', (client) => {
      client.on('message', (data) => {
        const message = JSON.parse(String(data)) as { envelope_id?: string; payload?: Record<string, unknown> };
        if (message.envelope_id) acks.set(message.envelope_id, message.payload ?? {});
      });
      client.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'test', approximate_connection_time: 3600 }, connection_info: { app_id: 'AGOLIVE' } }));
      resolve(client);
    });
  });
  slack = await startSlackApi(BOT_TOKEN, { socketModeUrl: `ws://127.0.0.1:${(sockets.address() as AddressInfo).port}/link` });
  const identity = createPgIdentityStore(harness.pool);
  server = await startHttpServer({
    store: harness.store, protection: createPgProtectionStore(harness.pool), identity, roles: createRoleDirectory(SLACK_ROLES, identity),
    runbooksDir: 'runbooks', client: harness.client, pool: harness.pool, taskQueue: harness.taskQueue,
    slack: { token: BOT_TOKEN, apiUrl: slack.apiUrl, appToken: 'xapp-1-AGOLIVE-1-test', socketMode: true },
  }, { host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }) });
  socket = await connected;
});

afterAll(async () => {
  // The last test closed it already when it passed.
  await server?.close().catch(() => undefined);
  sockets?.close();
  await slack?.close();
  await harness?.close();
});

describe('Slack over Socket Mode', () => {
  it('connects with the app-level token, not the bot token', () => {
    const opened = slack.received.filter((request) => request.method === 'apps.connections.open');
    expect(opened.length).toBeGreaterThanOrEqual(1);
    expect(opened[0]?.authorization).toMatch(/^Bearer xapp-/);
  });

  it('answers a mistake in the ack of its envelope, saying what to type', async () => {
    const { ack } = await command('frobnicate');
    expect(ack.response_type).toBe('ephemeral');
    expect(String(ack.text)).toContain('/golive help');
  });

  it('acks at once, then answers at the response_url like the HTTP app', async () => {
    const { replyTo } = await command('status no-such-run');
    const reply = await until(async () => slack.received.find((request) => request.path.endsWith(`/${replyTo}`))?.body, 10_000, 'no follow-up');
    expect(reply.response_type).toBe('ephemeral');
    expect(String(reply.text)).toContain('no-such-run');
  });

  it('closes the connection when the server stops', async () => {
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await server.close();
    await expect(closed).resolves.toBeDefined();
  });
});
