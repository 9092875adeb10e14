/** The posture digest: a Slack message with every protected service's posture, posted by a Temporal Schedule or on demand. */

export const POSTURE_DIGEST_WORKFLOW = 'postureDigestWorkflow';

export interface PostureDigestInput {
  /** The Slack channel ID the digest goes to. */
  channel: string;
}

/** What the `postPostureDigest` activity is asked: the channel, and the digest's id, which finds a post a retry must not repeat. */
export interface PostureDigestPost extends PostureDigestInput {
  digestId: string;
}

export interface PostureDigestAnswer {
  channel: string;
  /** The message's timestamp: its id in Slack. */
  ts: string;
  /** Protected services in the digest, and how many of them are at risk or stale. */
  services: number;
  needAttention: number;
}
