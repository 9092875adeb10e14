import { asyncLocalStorage } from '@temporalio/activity';
import type { Logger } from 'pino';
import { z } from 'zod';
import { businessFailure, reason, rethrow } from '../../definitions/failures.ts';
import type { ServicePosture } from '../../definitions/posture.ts';
import { postureDigestMessage } from '../../slack/blocks/posture-digest.ts';
import type { PostureDigestAnswer, PostureDigestPost } from '../../workflows/definitions.ts';
import { callSlack, Transient, withSlackRetries, type SlackAnswer } from './slack-api.ts';

/** The metadata event type of a digest message: how a retry finds the post an earlier attempt made. */
export const POSTURE_DIGEST_EVENT = 'golive_posture_digest';

export interface PostureDigestDeps {
  /** The worker's Slack settings: SLACK_BOT_TOKEN and SLACK_API_URL. */
  slack: { token?: string; apiUrl: string };
  logger: Pick<Logger, 'warn'>;
}

/** How many of the channel's newest messages a retry reads for an earlier post: it was made minutes ago at most. */
const LOOK_BACK_MESSAGES = 200;

const History = z.object({
  messages: z.array(z.object({ ts: z.string(), metadata: z.object({ event_type: z.string(), event_payload: z.record(z.string(), z.unknown()) }).optional() })).default([]),
});

/** A Temporal retry of the activity: an earlier attempt may have posted and lost Slack's answer. */
const isRetry = () => (asyncLocalStorage.getStore()?.info.attempt ?? 1) > 1;

/** The ts of this digest's message if an earlier try posted it; undefined when there is none, or the channel cannot be read (a second digest beats none). */
async function earlierPost(deps: PostureDigestDeps, token: string, post: PostureDigestPost, context: string): Promise<string | undefined> {
  const body = { channel: post.channel, include_all_metadata: true, limit: LOOK_BACK_MESSAGES };
  let answer: SlackAnswer;
  try {
    answer = await callSlack(deps.slack.apiUrl, token, 'conversations.history', body, `${context}: cannot read the channel for an earlier post`);
  } catch (error) {
    if (error instanceof Transient) throw error;
    deps.logger.warn({ digestId: post.digestId, error: reason(error) }, `${reason(error)}; posting the digest, which may post it twice (give the app channels:history and groups:history)`);
    return undefined;
  }
  const history = History.safeParse(answer);
  const mine = (message: z.infer<typeof History>['messages'][number]) => message.metadata?.event_type === POSTURE_DIGEST_EVENT && message.metadata.event_payload.digest_id === post.digestId;
  return history.success ? history.data.messages.find(mine)?.ts : undefined;
}

/**
 * The posture digest's activity: reads the posture on the worker, by the same rules as `golive
 * posture`, and posts it to a Slack channel. Idempotent per digest: a retry first looks in the
 * channel for the message an earlier attempt posted (by its metadata) and posts only when there is none.
 */
export function createPostureDigestActivities(posture: ((now: Date) => Promise<ServicePosture[]>) | undefined, deps: PostureDigestDeps | undefined) {
  return {
    async postPostureDigest(post: PostureDigestPost): Promise<PostureDigestAnswer> {
      const context = `cannot post the posture digest to Slack channel ${post.channel}`;
      const token = deps?.slack.token;
      if (deps === undefined || token === undefined) {
        throw businessFailure(`${context}: this worker has no SLACK_BOT_TOKEN; set it on the worker (golive worker, golive dev) to the app's bot token (xoxb-...)`, 'ConfigInvalid');
      }
      if (posture === undefined) throw businessFailure(`${context}: this worker has no records of backups and drills to read; run it on a golive worker connected to golive's database`, 'ConfigInvalid');
      const now = new Date();
      const services = await posture(now).catch((error: unknown) => rethrow(error, `${context}: cannot read the posture`, 'ConfigInvalid'));
      const summary = { channel: post.channel, services: services.length, needAttention: services.filter((service) => service.status !== 'ok').length };
      const body = {
        channel: post.channel,
        ...postureDigestMessage({ at: now.toISOString(), services }),
        metadata: { event_type: POSTURE_DIGEST_EVENT, event_payload: { digest_id: post.digestId } },
        unfurl_links: false,
        unfurl_media: false,
      };
      // Any try after the first may follow a post that landed without its answer: look for it before posting again.
      let mayHavePosted = isRetry();
      const ts = await withSlackRetries(async () => {
        const earlier = mayHavePosted ? await earlierPost(deps, token, post, context) : undefined;
        if (earlier !== undefined) return earlier;
        mayHavePosted = true;
        const answer = await callSlack(deps.slack.apiUrl, token, 'chat.postMessage', body, context);
        if (typeof answer.ts !== 'string') throw businessFailure(`${context}: Slack answered ok without the message's ts; is SLACK_API_URL right?`, 'SlackRejected');
        return answer.ts;
      }, { logger: deps.logger, fields: { digestId: post.digestId } });
      return { ...summary, ts };
    },
  };
}
