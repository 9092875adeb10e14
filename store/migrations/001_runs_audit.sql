-- Runs, approval decisions and the append-only audit trail.

CREATE TABLE runs (
  run_id          text PRIMARY KEY,
  kind            text NOT NULL,
  definition_name text NOT NULL,
  service         text NOT NULL,
  requested_by    text NOT NULL,
  status          text NOT NULL,
  current_step    text,
  started_at      timestamptz NOT NULL,
  finished_at     timestamptz,
  state           jsonb NOT NULL,
  last_seq        integer NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX runs_started_at ON runs (started_at DESC);
CREATE INDEX runs_service ON runs (service, started_at DESC);

CREATE TABLE approvals (
  run_id     text NOT NULL REFERENCES runs (run_id),
  step_id    text NOT NULL,
  decision   text NOT NULL CHECK (decision IN ('approved', 'rejected')),
  actor      text NOT NULL,
  comment    text,
  decided_at timestamptz NOT NULL,
  PRIMARY KEY (run_id, step_id)
);

-- One row per step transition or control decision. (run_id, seq) is the idempotency key:
-- a retried write of the same event inserts nothing.
CREATE TABLE audit_events (
  id          bigserial PRIMARY KEY,
  run_id      text NOT NULL,
  seq         integer NOT NULL,
  at          timestamptz NOT NULL,
  actor       text NOT NULL,
  action      text NOT NULL,
  step_id     text,
  detail      jsonb NOT NULL DEFAULT '{}',
  recorded_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (run_id, seq)
);
CREATE INDEX audit_events_at ON audit_events (at);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP;
END;
$$;
CREATE TRIGGER audit_events_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
