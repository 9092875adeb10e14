import { createHmac } from 'node:crypto';

/**
 * Requests as Slack sends them to /slack/events: form-encoded slash commands, and interactions
 * (button clicks, modal submissions) as a form field `payload` holding JSON, each signed with the
 * app's signing secret: `v0=` + hex HMAC-SHA256(secret, `v0:TIMESTAMP:BODY`).
 */

export const TEAM = { id: 'TGOLIVE', domain: 'golive-test' };

export interface SignedRequest {
  body: string;
  headers: Record<string, string>;
}

/** Signs a raw body; `at` (seconds) defaults to now, an older one makes a stale request. */
export function sign(secret: string, body: string, at = Math.floor(Date.now() / 1000)): SignedRequest {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${at}:${body}`).digest('hex')}`;
  return {
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(at), 'x-slack-signature': signature },
  };
}

export interface SlashCommand {
  user: string;
  text: string;
  channel?: string;
  /** Where Slack takes the delayed answers (`respond`): the fake Web API's responseUrl(id). */
  responseUrl: string;
  triggerId?: string;
}

/** The form body of `/golive TEXT` typed by `user` in `channel`. */
export function slashCommandBody(command: SlashCommand): string {
  return new URLSearchParams({
    token: 'verification-token-unused', team_id: TEAM.id, team_domain: TEAM.domain, channel_id: command.channel ?? 'C0GOLIVE1', channel_name: 'ops',
    user_id: command.user, user_name: command.user.toLowerCase(), command: '/golive', text: command.text, api_app_id: 'AGOLIVE',
    is_enterprise_install: 'false', response_url: command.responseUrl, trigger_id: command.triggerId ?? `trigger-${command.user}-${Date.now()}`,
  }).toString();
}

export interface ButtonClick {
  user: string;
  actionId: string;
  value: string;
  channel?: string;
  messageTs?: string;
  responseUrl: string;
  triggerId?: string;
}

/** The form body of a click on a button of a message golive posted. */
export function buttonClickBody(click: ButtonClick): string {
  const channel = click.channel ?? 'C0GOLIVE1';
  const ts = click.messageTs ?? '1718000000.000101';
  const payload = {
    type: 'block_actions', user: { id: click.user, username: click.user.toLowerCase(), team_id: TEAM.id }, api_app_id: 'AGOLIVE', token: 'verification-token-unused',
    container: { type: 'message', message_ts: ts, channel_id: channel, is_ephemeral: false }, trigger_id: click.triggerId ?? `trigger-${click.user}-${Date.now()}`,
    team: TEAM, channel: { id: channel, name: 'ops' }, message: { type: 'message', ts, text: 'golive run' }, response_url: click.responseUrl,
    actions: [{ action_id: click.actionId, block_id: 'gate', value: click.value, type: 'button', action_ts: `${Date.now() / 1000}` }],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export interface ModalSubmission {
  user: string;
  callbackId: string;
  privateMetadata: string;
  /** block id → action id → typed value. */
  values: Record<string, Record<string, string>>;
}

/** The form body of a modal submitted by `user`. */
export function viewSubmissionBody(submission: ModalSubmission): string {
  const values = Object.fromEntries(Object.entries(submission.values).map(([block, inputs]) => [
    block, Object.fromEntries(Object.entries(inputs).map(([action, value]) => [action, { type: 'plain_text_input', value }])),
  ]));
  const payload = {
    type: 'view_submission', team: TEAM, user: { id: submission.user, username: submission.user.toLowerCase(), team_id: TEAM.id }, api_app_id: 'AGOLIVE',
    token: 'verification-token-unused', trigger_id: `trigger-${submission.user}-${Date.now()}`,
    view: { id: 'VREJECT', type: 'modal', callback_id: submission.callbackId, private_metadata: submission.privateMetadata, state: { values }, hash: '1', team_id: TEAM.id, app_id: 'AGOLIVE' },
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** POSTs a signed request to golive's /slack/events; the status and the body as text. */
export async function postToSlackEvents(url: string, request: SignedRequest): Promise<{ status: number; text: string; ms: number }> {
  const started = performance.now();
  const response = await fetch(url, { method: 'POST', headers: request.headers, body: request.body });
  const text = await response.text();
  return { status: response.status, text, ms: performance.now() - started };
}
