import type { Middleware, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { z } from 'zod';
import { sendControl } from '../../../runtime/runs.ts';
import { controlStack, type SlackDeps } from '../../deps.ts';
import { decodeRejectContext, REJECT_REASON_BLOCK, REJECT_REASON_INPUT } from '../../ids.ts';
import { appliedText } from '../../replies.ts';
import { failureText } from '../../run-commands.ts';

/** The typed reason in a submitted reject modal; absent or blank when nothing was typed. */
const ReasonValues = z.looseObject({
  [REJECT_REASON_BLOCK]: z.looseObject({ [REJECT_REASON_INPUT]: z.looseObject({ value: z.string().nullish() }) }).optional(),
});

export const REASON_REQUIRED = 'Say why you reject: the reason goes to the audit trail and to whoever asked.';

/**
 * A submitted reject modal. An empty reason keeps the modal open with the field's error; otherwise
 * the modal closes at once and the rejection goes to the run as the submitting Slack user. The
 * answer (applied or refused, and why) is posted to that user alone in the channel of the click, or
 * in a direct message when the bot cannot post there.
 */
export function rejectReasonView(deps: SlackDeps): Middleware<SlackViewMiddlewareArgs<ViewSubmitAction>> {
  return async ({ ack, body, view, client }) => {
    const reason = ReasonValues.safeParse(view.state.values).data?.[REJECT_REASON_BLOCK]?.[REJECT_REASON_INPUT].value?.trim();
    if (!reason) return ack({ response_action: 'errors', errors: { [REJECT_REASON_BLOCK]: REASON_REQUIRED } });
    const gate = decodeRejectContext(view.private_metadata);
    if (!gate) return ack({ response_action: 'errors', errors: { [REJECT_REASON_BLOCK]: 'This form does not name a gate golive knows; close it and click Reject on the run\'s message again.' } });
    await ack();
    const actor = body.user.id;
    const context = { runId: gate.runId, stepId: gate.stepId, user: actor, click: 'reject-reason' };
    const text = await sendControl(controlStack(deps), gate.runId, 'reject', { actor, channel: 'slack', stepId: gate.stepId, comment: reason }).then(
      (message) => {
        deps.logger.info(context, 'gate rejected through Slack');
        return appliedText(message);
      },
      (error: unknown) => failureText(error, deps, context),
    );
    // Shown to that person alone in the channel of the click; in a channel the bot may not post to, in a direct message.
    const inChannel = gate.channel === undefined ? false : await client.chat.postEphemeral({ channel: gate.channel, user: actor, text }).then(() => true, (error: unknown) => {
      deps.logger.warn({ ...context, err: error }, 'cannot answer a reject in its channel; answering in a direct message');
      return false;
    });
    if (!inChannel) await client.chat.postMessage({ channel: actor, text });
  };
}
