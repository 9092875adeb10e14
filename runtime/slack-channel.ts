/** Where a run's Slack message goes. */

/**
 * The channel ID of a run's message: the one its definition names (metadata.slack.channel), else
 * the starter's fallback (the channel a slash command was typed in, or GOLIVE_SLACK_CHANNEL);
 * undefined: the run has no Slack message.
 */
export function runChannel(definition: { metadata: { slack?: { channel: string } } }, fallback?: string): string | undefined {
  return definition.metadata.slack?.channel ?? fallback;
}
