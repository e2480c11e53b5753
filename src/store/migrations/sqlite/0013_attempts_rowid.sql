-- Attempts in a rowid table (rows appended in the order they are written) with their key in an
-- index of its own, instead of a WITHOUT ROWID table keyed (delivery_id, attempt): there the
-- ~400-byte rows lived in an index B-tree, where SQLite's page balancing rewrites the
-- neighbouring pages too — each page reached the WAL ~3.6 times. Measured in the store loop
-- (`bench/store-loop.ts --wal-pages`, 64 call writes a commit): the attempts' WAL frames 0.333
-- → 0.189 a delivery (rows 0.117, key 0.072), all frames 1.90 → 1.75 a delivery (−8 %: less
-- for each COMMIT to write and for the checkpointer to copy).
CREATE TABLE delivery_attempts_new (
  n                INTEGER PRIMARY KEY,
  delivery_id      TEXT NOT NULL,
  attempt          INTEGER NOT NULL,
  started_at       INTEGER NOT NULL,
  duration_ms      INTEGER NOT NULL,
  status_code      INTEGER,
  error            TEXT,
  request          TEXT NOT NULL,
  response_headers TEXT,
  response_excerpt TEXT
);
INSERT INTO delivery_attempts_new (delivery_id, attempt, started_at, duration_ms, status_code, error, request, response_headers, response_excerpt)
  SELECT delivery_id, attempt, started_at, duration_ms, status_code, error, request, response_headers, response_excerpt FROM delivery_attempts ORDER BY delivery_id, attempt;
DROP TABLE delivery_attempts;
ALTER TABLE delivery_attempts_new RENAME TO delivery_attempts;
CREATE UNIQUE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery_id, attempt);
