import type { Middleware, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { helpText, parseCommand } from '../../commands.ts';
import type { SlackDeps } from '../../deps.ts';
import { ephemeral } from '../../replies.ts';
import { failureText, runCommand } from '../../run-commands.ts';

/**
 * `/golive TEXT`. A mistake and help are answered in the ack itself; anything else is acked at once,
 * then done, and answered through the command's response_url. Starts answer with the run id and do
 * not wait for the run.
 */
export function goliveCommand(deps: SlackDeps): Middleware<SlackCommandMiddlewareArgs> {
  return async ({ command, ack, respond }) => {
    const parsed = parseCommand(command.text);
    if (!parsed.ok) return ack(ephemeral(`:warning: ${parsed.error}`));
    if (parsed.command.kind === 'help') return ack(ephemeral(helpText()));
    await ack();
    const actor = { user: command.user_id, channel: command.channel_id };
    const context = { command: parsed.command.kind, user: actor.user, channel: actor.channel };
    const text = await runCommand(deps, parsed.command, actor).catch((error: unknown) => failureText(error, deps, context));
    await respond(ephemeral(text));
  };
}
