import type { BlockAction, ButtonAction, Middleware, SlackActionMiddlewareArgs } from '@slack/bolt';
import { rejectModal } from '../../blocks/reject-modal.ts';
import type { SlackDeps } from '../../deps.ts';
import { gateRefusal } from '../../gate-check.ts';
import { decodeGate } from '../../ids.ts';
import { ephemeral, refusedText } from '../../replies.ts';
import { failureText } from '../../run-commands.ts';
import { NOT_A_GATE } from './approve.ts';

/** A click's trigger_id lives 3 s: the check before the modal opens gets at most this long, then the modal opens anyway. */
const CHECK_BUDGET_MS = 1_500;

/**
 * The Reject button of a gate: acked at once; a person who could not reject this gate now is told why
 * at once, anyone else gets a modal asking for the reason (views.open with the click's trigger_id).
 */
export function rejectButton(deps: SlackDeps): Middleware<SlackActionMiddlewareArgs<BlockAction<ButtonAction>>> {
  return async ({ ack, body, action, respond, client }) => {
    await ack();
    const gate = decodeGate(action.value);
    if (!gate) return void (await respond(ephemeral(NOT_A_GATE)));
    const actor = body.user.id;
    const context = { runId: gate.runId, stepId: gate.stepId, user: actor, click: 'reject' };
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), CHECK_BUDGET_MS);
    });
    const refusal = await Promise.race([
      gateRefusal(deps, gate, actor, 'reject').then((reason) => reason && refusedText(reason), (error: unknown) => failureText(error, deps, context)),
      budget,
    ]).finally(() => clearTimeout(timer));
    if (refusal !== undefined) return void (await respond(ephemeral(refusal)));
    const channel = body.channel?.id ?? body.container?.channel_id;
    try {
      await client.views.open({ trigger_id: body.trigger_id, view: rejectModal({ ...gate, channel: typeof channel === 'string' ? channel : undefined }) });
    } catch (error) {
      deps.logger.warn({ ...context, err: error }, 'Slack did not open the reject modal');
      await respond(ephemeral(`:warning: Slack did not open the form asking for your reason; nothing changed. Reject with \`/golive reject ${gate.runId} --step ${gate.stepId} REASON\` instead.`));
    }
  };
}
