-- Health probe results. Probes run every few seconds per awake server, so the store keeps
-- only the newest rows per server (see sql-store.ts); the index serves both the reads and
-- that pruning.
CREATE TABLE IF NOT EXISTS health_results (
  id         bigserial PRIMARY KEY,
  server     text NOT NULL,
  ok         boolean NOT NULL,
  latency_ms double precision NOT NULL,
  error      text,
  at         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS health_results_server_id ON health_results (server, id DESC);
