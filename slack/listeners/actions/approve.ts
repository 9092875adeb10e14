import type { BlockAction, ButtonAction, Middleware, SlackActionMiddlewareArgs } from '@slack/bolt';
import { sendControl } from '../../../runtime/runs.ts';
import { controlStack, type SlackDeps } from '../../deps.ts';
import { decodeGate } from '../../ids.ts';
import { appliedText, ephemeral } from '../../replies.ts';
import { failureText } from '../../run-commands.ts';

export const NOT_A_GATE = ':warning: This button does not name a gate golive knows (an old or altered message); nothing changed. Use `/golive status RUN` to see where the run stands.';

/**
 * The Approve button of a gate: acked at once, then the approval goes to the run as the clicking
 * Slack user through the `slack` channel. The workflow judges it (roles, four-eyes, an open gate); a
 * refusal is answered to the clicker alone and changes nothing.
 */
export function approveButton(deps: SlackDeps): Middleware<SlackActionMiddlewareArgs<BlockAction<ButtonAction>>> {
  return async ({ ack, body, action, respond }) => {
    await ack();
    const gate = decodeGate(action.value);
    if (!gate) return void (await respond(ephemeral(NOT_A_GATE)));
    const actor = body.user.id;
    const context = { runId: gate.runId, stepId: gate.stepId, user: actor, click: 'approve' };
    const text = await sendControl(controlStack(deps), gate.runId, 'approve', { actor, channel: 'slack', stepId: gate.stepId }).then(
      (message) => {
        deps.logger.info(context, 'gate approved through Slack');
        return appliedText(message);
      },
      (error: unknown) => failureText(error, deps, context),
    );
    await respond(ephemeral(text));
  };
}
