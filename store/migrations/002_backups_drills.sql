-- golive's catalog of backups and its record of restore-verification drills, read by posture.

-- One row per backup written by backup.create; the manifest is the one stored next to the dump.
-- A backup is named by its service and id, as in the store's `<service>/<backupId>` layout.
-- pruned_at is set when backup.prune deletes it: a pruned backup can no longer be restored.
CREATE TABLE backups (
  service     text NOT NULL,
  backup_id   text NOT NULL,
  database    text NOT NULL,
  location    text NOT NULL,
  snapshot_at timestamptz NOT NULL,
  finished_at timestamptz NOT NULL,
  bytes       bigint NOT NULL,
  sha256      text NOT NULL,
  manifest    jsonb NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  pruned_at   timestamptz,
  PRIMARY KEY (service, backup_id)
);
CREATE INDEX backups_service_snapshot ON backups (service, snapshot_at DESC) WHERE pruned_at IS NULL;

-- One row per finished drill run; record is the whole DrillRecord, the columns are for queries.
-- run_id is the idempotency key: a retried write inserts nothing.
-- notice is where the result was announced ({channel, ts}), set once, when the post landed.
CREATE TABLE drills (
  run_id           text PRIMARY KEY,
  service          text NOT NULL,
  runbook          text NOT NULL,
  strategy         text NOT NULL,
  trigger          text NOT NULL CHECK (trigger IN ('manual', 'schedule')),
  requested_by     text NOT NULL,
  status           text NOT NULL CHECK (status IN ('passed', 'failed')),
  reason           text,
  declared_at      timestamptz NOT NULL,
  recovered_at     timestamptz,
  finished_at      timestamptz NOT NULL,
  backup_id        text,
  rpo_ms           bigint,
  rto_ms           bigint,
  rpo_objective_ms bigint NOT NULL,
  rto_objective_ms bigint NOT NULL,
  rpo_source       text CHECK (rpo_source IN ('heartbeat', 'snapshot')),
  record           jsonb NOT NULL,
  recorded_at      timestamptz NOT NULL DEFAULT now(),
  notified_at      timestamptz,
  notice           jsonb,
  CHECK ((notified_at IS NULL) = (notice IS NULL))
);
CREATE INDEX drills_service_finished ON drills (service, finished_at DESC);
CREATE INDEX drills_finished ON drills (finished_at DESC);
CREATE INDEX drills_passed ON drills (service, finished_at DESC) WHERE status = 'passed';
