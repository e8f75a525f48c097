-- API keys (`mcpfleet keys`). The secret itself is never stored: secret_hmac is the hex
-- HMAC-SHA256 of it under the controller's key-hashing secret, so a copy of this table
-- grants nothing. The id is the public half of a key (mcpf_<id>_<secret>), looked up by
-- primary key. A name belongs to one live key at a time; revoked keys keep their row (and
-- name) for the record.
CREATE TABLE IF NOT EXISTS api_keys (
  id           text PRIMARY KEY,
  name         text NOT NULL,
  role         text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
  -- A JSON array of server slugs the key is limited to; null: any server.
  servers      jsonb,
  secret_hmac  text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz,
  last_used_at timestamptz,
  revoked_at   timestamptz
);

CREATE UNIQUE INDEX IF NOT EXISTS api_keys_live_name ON api_keys (name) WHERE revoked_at IS NULL;
