-- One row per occurrence: a wake, a sleep, a health transition, a restart, a failure...
-- Read newest first, per server or across the fleet.
CREATE TABLE IF NOT EXISTS events (
  id          bigserial PRIMARY KEY,
  server      text NOT NULL,
  type        text NOT NULL,
  at          timestamptz NOT NULL DEFAULT now(),
  -- Fractional milliseconds: a fast wake is a few ms and the fraction matters.
  duration_ms double precision,
  message     text,
  data        jsonb
);

CREATE INDEX IF NOT EXISTS events_server_at ON events (server, at DESC, id DESC);
CREATE INDEX IF NOT EXISTS events_at ON events (at DESC, id DESC);
