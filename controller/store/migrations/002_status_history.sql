-- Every state transition of a server (asleep, waking, ready, ...), with the reason.
CREATE TABLE IF NOT EXISTS status_history (
  id     bigserial PRIMARY KEY,
  server text NOT NULL,
  state  text NOT NULL,
  reason text,
  at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS status_history_server_at ON status_history (server, at DESC, id DESC);
