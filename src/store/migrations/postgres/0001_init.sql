-- Hookline schema, PostgreSQL. Append-only: never edit a migration that has shipped; add the next number.
-- Times are BIGINT milliseconds since the epoch, always passed in by the application's clock.

CREATE TABLE accounts (
  id                TEXT PRIMARY KEY,
  name              TEXT NOT NULL,
  created_at        BIGINT NOT NULL,
  resources_version BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE api_keys (
  key_hash   TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts (id),
  bootstrap  BOOLEAN NOT NULL DEFAULT FALSE,
  created_at BIGINT NOT NULL
);

CREATE TABLE calls (
  id          TEXT PRIMARY KEY,
  account_id  TEXT NOT NULL,
  kind        TEXT NOT NULL,
  direction   TEXT NOT NULL,
  from_number TEXT NOT NULL,
  to_number   TEXT NOT NULL,
  status      TEXT NOT NULL,
  outcome     TEXT,
  channel_id  TEXT,
  external_id TEXT,
  created_at  BIGINT NOT NULL,
  version     INTEGER NOT NULL,
  doc         TEXT NOT NULL
);
CREATE INDEX calls_by_account ON calls (account_id, id);
CREATE UNIQUE INDEX calls_by_external_id ON calls (account_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE call_events (
  call_id     TEXT NOT NULL,
  seq         INTEGER NOT NULL,
  account_id  TEXT NOT NULL,
  type        TEXT NOT NULL,
  leg         TEXT,
  occurred_at BIGINT NOT NULL,
  data        TEXT NOT NULL,
  PRIMARY KEY (call_id, seq)
);

CREATE TABLE call_timers (
  call_id      TEXT PRIMARY KEY,
  due_at       BIGINT NOT NULL,
  locked_by    TEXT,
  locked_until BIGINT
);
CREATE INDEX call_timers_by_due ON call_timers (due_at);

CREATE TABLE idempotency_keys (
  account_id   TEXT NOT NULL,
  route        TEXT NOT NULL,
  key          TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status       INTEGER NOT NULL,
  body         TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  PRIMARY KEY (account_id, route, key)
);

CREATE TABLE ingested_events (
  account_id TEXT NOT NULL,
  event_id   TEXT NOT NULL,
  call_id    TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (account_id, event_id)
);

CREATE TABLE deliveries (
  id               TEXT PRIMARY KEY,
  account_id       TEXT NOT NULL,
  call_id          TEXT NOT NULL,
  event_seq        INTEGER NOT NULL,
  event_type       TEXT NOT NULL,
  event_name       TEXT NOT NULL,
  target_format    TEXT NOT NULL,
  target_id        TEXT NOT NULL,
  order_key        TEXT NOT NULL,
  request          TEXT NOT NULL,
  status           TEXT NOT NULL,
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  BIGINT NOT NULL,
  locked_by        TEXT,
  locked_until     BIGINT,
  created_at       BIGINT NOT NULL,
  updated_at       BIGINT NOT NULL,
  last_status_code INTEGER,
  last_error       TEXT
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_leased ON deliveries (locked_until) WHERE status = 'delivering';
CREATE INDEX deliveries_in_order ON deliveries (order_key, call_id, event_seq) WHERE status IN ('pending', 'delivering');
CREATE INDEX deliveries_by_account ON deliveries (account_id, id);
CREATE INDEX deliveries_by_call ON deliveries (call_id);

CREATE TABLE delivery_attempts (
  delivery_id      TEXT NOT NULL,
  attempt          INTEGER NOT NULL,
  started_at       BIGINT NOT NULL,
  duration_ms      INTEGER NOT NULL,
  status_code      INTEGER,
  error            TEXT,
  request          TEXT NOT NULL,
  response_headers TEXT,
  response_excerpt TEXT,
  PRIMARY KEY (delivery_id, attempt)
);

CREATE TABLE resources (
  id              TEXT PRIMARY KEY,
  account_id      TEXT NOT NULL,
  kind            TEXT NOT NULL,
  doc             TEXT NOT NULL,
  enabled         BOOLEAN NOT NULL,
  disabled_reason TEXT,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL,
  last_success_at BIGINT,
  failing_since   BIGINT
);
CREATE INDEX resources_by_account ON resources (account_id, kind, id);
