-- golive's record of failovers and failover drills. The failover workflow sends its record as it
-- stands with every batch of its audit trail, so the row follows the run live; record is the
-- whole FailoverRecord, the columns are for queries.
-- A batch never turns a finished record back into a running one: a stale write of an open
-- status is skipped once the row holds a finished one (store/failovers.ts).
CREATE TABLE failovers (
  run_id       text PRIMARY KEY,
  service      text NOT NULL,
  runbook      text NOT NULL,
  status       text NOT NULL CHECK (status IN ('running', 'waiting-approval', 'paused', 'rolling-back', 'succeeded', 'failed', 'aborted')),
  drill        boolean NOT NULL,
  environment  text,
  declared_at  timestamptz NOT NULL,
  recovered_at timestamptz,
  record       jsonb NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX failovers_service_declared ON failovers (service, declared_at DESC);
CREATE INDEX failovers_declared ON failovers (declared_at DESC);
