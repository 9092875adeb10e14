-- The audit trail is a projection of Temporal's history. Rows are keyed by the workflow id, the
-- Temporal execution (run id) and the event's position in that execution: a reset or a reused
-- workflow id starts a new execution, whose events are kept beside the old ones, never dropped.
-- A write that finds a row with the same key but different content is an error, not a no-op.

ALTER TABLE audit_events ADD COLUMN execution text NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN channel text;
ALTER TABLE audit_events DROP CONSTRAINT audit_events_run_id_seq_key;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_key UNIQUE (run_id, execution, seq);

ALTER TABLE approvals ADD COLUMN execution text NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN channel text;
ALTER TABLE approvals DROP CONSTRAINT approvals_pkey;
ALTER TABLE approvals ADD PRIMARY KEY (run_id, execution, step_id);

-- The run row shows the newest execution: a later execution replaces an earlier one's state,
-- and within one execution a later event replaces an earlier one.
ALTER TABLE runs ADD COLUMN execution text NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN last_event_at timestamptz;
