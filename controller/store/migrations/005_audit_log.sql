-- The audit log (controller/audit/): who called what. One row per management action (wake,
-- sleep, keys create/revoke) and per tools/call through the gateway, written in batches off
-- the request path. `at` is when the request arrived, set by the controller that served it
-- (not now() at insert: a batch is written up to a flush interval later); rows are read newest
-- first by (at, id), which is also the pagination cursor. Old rows are deleted by the
-- retention loop (--audit-retention).
CREATE TABLE IF NOT EXISTS audit_log (
  id             bigserial PRIMARY KEY,
  at             timestamptz NOT NULL,
  -- 'tools/call', or a management action: 'wake', 'sleep', 'keys.create', 'keys.revoke'.
  action         text NOT NULL,
  -- Principal.id (token:<iss>#<sub>, key:<id>, anonymous) and its readable name.
  principal      text NOT NULL,
  principal_name text NOT NULL,
  server         text,
  tool           text,
  -- What the action was on when that is not a server: a key's id.
  target         text,
  -- Whether the call was let through: 'allowed' or 'denied' (by role or tool policy).
  decision       text NOT NULL,
  -- Why a call was denied, when the deciding part said.
  reason         text,
  -- The HTTP status of the reply.
  status         integer NOT NULL,
  -- The reply was sent to its end (false: the client left, or the server went away mid-reply).
  completed      boolean NOT NULL,
  duration_ms    double precision NOT NULL,
  request_id     text NOT NULL
);

CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at DESC, id DESC);
CREATE INDEX IF NOT EXISTS audit_log_server_at ON audit_log (server, at DESC, id DESC);
CREATE INDEX IF NOT EXISTS audit_log_principal_at ON audit_log (principal, at DESC, id DESC);
-- ?principal= matches the id or the name (a key's name is what people know it by).
CREATE INDEX IF NOT EXISTS audit_log_principal_name_at ON audit_log (principal_name, at DESC, id DESC);
