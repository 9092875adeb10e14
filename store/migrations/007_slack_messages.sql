-- One Slack message per run, updated in place. The timestamp is stored as soon as Slack answers,
-- so a retried sync updates the message instead of posting a second one; thread_seq is the last
-- audit event posted in the message's thread, so a retry does not repeat the replies before it.
CREATE TABLE slack_messages (
  run_id      text PRIMARY KEY,
  channel     text NOT NULL,
  ts          text NOT NULL,
  thread_seq  integer NOT NULL DEFAULT 0,
  posted_at   timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
