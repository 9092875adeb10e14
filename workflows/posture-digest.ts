import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.ts';
import type { PostureDigestAnswer, PostureDigestInput } from './definitions.ts';
import { PRESETS } from './presets.ts';

// As drill results: the activity waits out Slack's rate limits itself, and a retry finds a post that landed.
const { postPostureDigest } = proxyActivities<ReturnType<typeof createActivities>>(PRESETS.notify);

/**
 * Posts the posture of every protected service to a Slack channel, once: what the posture-digest
 * schedule starts (runtime/posture-digest.ts), and `golive posture digest --now`.
 */
export async function postureDigestWorkflow(input: PostureDigestInput): Promise<PostureDigestAnswer> {
  return postPostureDigest({ channel: input.channel, digestId: workflowInfo().workflowId });
}
