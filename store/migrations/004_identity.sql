-- Who may call golive's API and which roles golive's database grants, with an append-only
-- record of every change to either.

-- API tokens. The secret is shown once when the token is created; golive keeps only its
-- sha256. `id` is the public part of the token (glv_<id>_<secret>), safe to list and log.
CREATE TABLE api_tokens (
  id           text PRIMARY KEY,
  user_name    text NOT NULL,
  token_hash   text NOT NULL CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  created_at   timestamptz NOT NULL DEFAULT now(),
  created_by   text NOT NULL,
  expires_at   timestamptz,          -- NULL: never expires
  revoked_at   timestamptz,
  revoked_by   text,
  last_used_at timestamptz,
  CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE INDEX api_tokens_user ON api_tokens (user_name);

-- Roles granted in the database, in addition to GOLIVE_ROLES.
CREATE TABLE role_grants (
  user_name  text NOT NULL,
  role       text NOT NULL,
  granted_by text NOT NULL,
  granted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_name, role)
);
CREATE INDEX role_grants_role ON role_grants (role);

-- One row per change to tokens or grants: token.created, token.revoked, role.granted,
-- role.revoked. Written in the same transaction as the change.
CREATE TABLE admin_events (
  id      bigserial PRIMARY KEY,
  at      timestamptz NOT NULL DEFAULT now(),
  actor   text NOT NULL,
  channel text NOT NULL,
  action  text NOT NULL,
  subject text NOT NULL,
  detail  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX admin_events_at ON admin_events (at);

CREATE FUNCTION admin_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'admin_events is append-only: % is not allowed', TG_OP;
END;
$$;
CREATE TRIGGER admin_events_no_update_or_delete BEFORE UPDATE OR DELETE ON admin_events
  FOR EACH ROW EXECUTE FUNCTION admin_events_append_only();
CREATE TRIGGER admin_events_no_truncate BEFORE TRUNCATE ON admin_events
  FOR EACH STATEMENT EXECUTE FUNCTION admin_events_append_only();
