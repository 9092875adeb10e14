import { escape } from './kit.ts';
import { REJECT_REASON_BLOCK, REJECT_REASON_INPUT, REJECT_VIEW, RejectContext } from '../ids.ts';

/** The modal a Reject click opens: what is rejected, and a required reason that goes to the audit trail. */

/** Slack caps a plain_text_input at 3000 characters; golive keeps comments to 2000. */
export const MAX_REASON_CHARS = 2_000;

const plain = (text: string) => ({ type: 'plain_text' as const, text });

export function rejectModal(context: RejectContext) {
  const gate = RejectContext.parse(context);
  return {
    type: 'modal' as const,
    callback_id: REJECT_VIEW,
    private_metadata: JSON.stringify(gate),
    title: plain('Reject gate'),
    submit: plain('Reject'),
    close: plain('Cancel'),
    blocks: [
      {
        type: 'section' as const,
        text: {
          type: 'mrkdwn' as const,
          text: `Reject gate \`${escape(gate.stepId)}\` of run \`${escape(gate.runId)}\`? The run stops and rolls back what it changed.`,
        },
      },
      {
        type: 'input' as const,
        block_id: REJECT_REASON_BLOCK,
        label: plain('Why? (kept in the audit trail)'),
        element: { type: 'plain_text_input' as const, action_id: REJECT_REASON_INPUT, multiline: true, max_length: MAX_REASON_CHARS },
      },
    ],
  };
}
