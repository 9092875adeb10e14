-- golive's built-in feature flags, the keys apps read them with, every change of them, and the
-- records of rollouts and checklist runs.

-- One flag in one environment. A boolean flag rolled out to `percent` of targeting keys: a key is
-- in when its bucket (a hash of the flag key and the targeting key) is below the percentage, so a
-- key that is in at 10% stays in at 50%.
CREATE TABLE flags (
  key          text NOT NULL,
  environment  text NOT NULL DEFAULT 'production',
  enabled      boolean NOT NULL DEFAULT true,
  percent      numeric(5, 2) NOT NULL DEFAULT 0 CHECK (percent >= 0 AND percent <= 100),
  description  text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  updated_by   text,
  PRIMARY KEY (key, environment)
);

-- Every change of a flag: who, through which channel, which run, from → to. A run's step writes
-- its change once: a retry finds the row by its idempotency key and reports the first `from`.
CREATE TABLE flag_changes (
  id               bigserial PRIMARY KEY,
  key              text NOT NULL,
  environment      text NOT NULL,
  actor            text NOT NULL,
  channel          text,
  run_id           text,
  idempotency_key  text UNIQUE,
  from_percent     numeric(5, 2),
  to_percent       numeric(5, 2),
  from_enabled     boolean,
  to_enabled       boolean,
  comment          text,
  at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX flag_changes_key_at ON flag_changes (key, environment, at DESC);

-- Keys apps evaluate flags with over OFREP: a read-only credential for one environment, stored
-- hashed, never a person's token.
CREATE TABLE flag_keys (
  id           text PRIMARY KEY,
  name         text NOT NULL,
  environment  text NOT NULL DEFAULT 'production',
  key_hash     text NOT NULL UNIQUE,
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz
);

-- Servers keep every flag in memory and reload on this notification, never a query per evaluation.
CREATE FUNCTION golive_flags_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('golive_flags', json_build_object('key', COALESCE(NEW.key, OLD.key), 'environment', COALESCE(NEW.environment, OLD.environment))::text);
  RETURN NULL;
END $$;
CREATE TRIGGER flags_notify AFTER INSERT OR UPDATE OR DELETE ON flags FOR EACH ROW EXECUTE FUNCTION golive_flags_notify();

-- Rollouts and checklist runs: the workflow's record as it stands, newest batch wins (a finished
-- record is never replaced by an open one).
CREATE TABLE rollouts (
  run_id      text PRIMARY KEY,
  service     text NOT NULL,
  plan        text NOT NULL,
  flag_key    text NOT NULL,
  status      text NOT NULL,
  started_at  timestamptz NOT NULL,
  record      jsonb NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rollouts_service_started ON rollouts (service, started_at DESC);

CREATE TABLE checklist_runs (
  run_id      text PRIMARY KEY,
  service     text NOT NULL,
  checklist   text NOT NULL,
  status      text NOT NULL,
  started_at  timestamptz NOT NULL,
  record      jsonb NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX checklist_runs_service_started ON checklist_runs (service, started_at DESC);
