import type { App } from '@slack/bolt';
import type { SlackDeps } from '../deps.ts';
import { APPROVE_ACTION, REJECT_ACTION, REJECT_VIEW, SLASH_COMMAND } from '../ids.ts';
import { approveButton } from './actions/approve.ts';
import { rejectButton } from './actions/reject.ts';
import { goliveCommand } from './commands/golive.ts';
import { rejectReasonView } from './views/reject-reason.ts';

/** Every listener of golive's Slack app: the slash command, the gate buttons, the reject modal. */
export function registerListeners(app: App, deps: SlackDeps): void {
  app.command(SLASH_COMMAND, goliveCommand(deps));
  app.action({ type: 'block_actions', action_id: APPROVE_ACTION }, approveButton(deps));
  app.action({ type: 'block_actions', action_id: REJECT_ACTION }, rejectButton(deps));
  app.view({ type: 'view_submission', callback_id: REJECT_VIEW }, rejectReasonView(deps));
}
