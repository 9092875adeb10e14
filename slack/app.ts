import { App, LogLevel, SocketModeReceiver, type Authorize, type Logger as BoltLogger, type Receiver } from '@slack/bolt';
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { SlackSettings } from '../server/deps.ts';
import type { SlackDeps } from './deps.ts';
import { registerListeners } from './listeners/index.ts';
import { FastifyReceiver } from './receiver.ts';

/**
 * golive's Slack app: one Bolt App with its listeners, served over HTTP at POST /slack/events on
 * golive's server, or over Socket Mode. Building it calls nothing at Slack, so golive starts while
 * Slack is down.
 */

/** Bolt's logger interface on golive's pino logger. */
function boltLogger(logger: Logger): BoltLogger {
  const child = logger.child({ component: 'slack' });
  const line = (parts: unknown[]) => parts.map((part) => (part instanceof Error ? part.message : String(part))).join(' ');
  let level = LogLevel.INFO;
  return {
    debug: (...parts: unknown[]) => child.debug(line(parts)),
    info: (...parts: unknown[]) => child.info(line(parts)),
    warn: (...parts: unknown[]) => child.warn(line(parts)),
    error: (...parts: unknown[]) => child.error(line(parts)),
    setLevel: (wanted) => {
      level = wanted;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

/**
 * The bot token for every request, with the bot's ids once one auth.test has answered. The answer is
 * cached; a failed one is asked again on a later request. Nothing waits for it.
 */
function botAuthorization(token: string, authTest: () => Promise<{ bot_id?: string; user_id?: string; team_id?: string }>, logger: Logger): Authorize<boolean> {
  let ids: { botId?: string; botUserId?: string; teamId?: string } | undefined;
  let asking = false;
  return async () => {
    if (ids === undefined && !asking) {
      asking = true;
      authTest().then(
        (answer) => {
          ids = { botId: answer.bot_id, botUserId: answer.user_id, teamId: answer.team_id };
        },
        (error: unknown) => logger.warn({ err: error }, 'Slack auth.test failed; the bot token is used without its ids and asked about again'),
      ).finally(() => {
        asking = false;
      });
    }
    return { botToken: token, ...ids };
  };
}

/**
 * Calls to Slack's Web API answer a request Slack just sent: a few quick tries, never the client's
 * default half hour of them, which would also keep a stopping server alive while Slack is down.
 */
const WEB_API_RETRIES = { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 2_000 };
const WEB_API_TIMEOUT_MS = 10_000;

function requireToken(settings: SlackSettings | undefined): SlackSettings & { token: string } {
  if (settings?.token === undefined) throw new Error('the Slack app needs the bot token: set SLACK_BOT_TOKEN');
  return { ...settings, token: settings.token };
}

/** The Bolt App on a receiver, with golive's listeners. */
export function createSlackApp(deps: SlackDeps, receiver: Receiver): App {
  const settings = requireToken(deps.slack);
  const logger = deps.logger.child({ component: 'slack' });
  const app: App = new App({
    receiver,
    authorize: botAuthorization(settings.token, () => app.client.auth.test({ token: settings.token }), logger),
    clientOptions: { slackApiUrl: settings.apiUrl, retryConfig: WEB_API_RETRIES, timeout: WEB_API_TIMEOUT_MS },
    logger: boltLogger(deps.logger),
    // golive subscribes to no events: no messages of its own to skip, no conversation state to keep.
    ignoreSelf: false,
    convoStore: false,
  });
  app.error(async (error) => {
    logger.error({ err: error }, 'a Slack listener failed after its ack');
  });
  registerListeners(app, deps);
  return app;
}

/** The fastify plugin serving POST /slack/events, for golive's HTTP server when SLACK_SIGNING_SECRET is set. */
export function slackEventRoutes(deps: SlackDeps): FastifyPluginAsync {
  const signingSecret = deps.slack?.signingSecret;
  if (signingSecret === undefined) throw new Error('serving Slack over HTTP needs the app\'s signing secret: set SLACK_SIGNING_SECRET');
  const receiver = new FastifyReceiver({ signingSecret, logger: deps.logger.child({ component: 'slack' }) });
  createSlackApp(deps, receiver);
  return receiver.routes();
}

export interface SlackConnection {
  stop(): Promise<void>;
}

/** How long Socket Mode waits before connecting again after a failed attempt: doubling, at most a minute. */
const reconnectDelayMs = (attempt: number) => Math.min(60_000, 1_000 * 2 ** attempt);

/**
 * The same app over Socket Mode (GOLIVE_SLACK_SOCKET_MODE=true with SLACK_APP_TOKEN). It connects in
 * the background and tries again until it is connected, so golive's server starts whether or not
 * Slack answers; once connected, the Socket Mode client reconnects by itself.
 */
export function startSocketMode(deps: SlackDeps): SlackConnection {
  const appToken = deps.slack?.appToken;
  if (appToken === undefined) throw new Error('Socket Mode needs the app-level token: set SLACK_APP_TOKEN');
  const logger = deps.logger.child({ component: 'slack' });
  const receiver = new SocketModeReceiver({
    appToken, logger: boltLogger(deps.logger), installerOptions: { clientOptions: { slackApiUrl: deps.slack?.apiUrl } },
  });
  const app = createSlackApp(deps, receiver);
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = (attempt: number): void => {
    app.start().then(
      () => logger.info('connected to Slack over Socket Mode'),
      (error: unknown) => {
        if (stopped) return;
        const delayMs = reconnectDelayMs(attempt);
        logger.error({ err: error, retryInMs: delayMs }, 'cannot connect to Slack over Socket Mode; /golive and the gate buttons do not answer until it does');
        retry = setTimeout(() => connect(attempt + 1), delayMs);
      },
    );
  };
  connect(0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(retry);
      await app.stop().catch((error: unknown) => logger.warn({ err: error }, 'the Socket Mode connection did not close cleanly'));
    },
  };
}
