-- Slim queue rows (issue 10): the rendered request (~1 KB of body and headers) is written once
-- into a table of its own and never rewritten; the deliveries rows that every claim and settle
-- update carry only what the queue needs (~150 bytes), so a batch of claims dirties a few pages
-- instead of one page per three deliveries.
CREATE TABLE delivery_requests (
  delivery_id TEXT PRIMARY KEY,
  request     TEXT NOT NULL
);
INSERT INTO delivery_requests (delivery_id, request) SELECT id, request FROM deliveries;
ALTER TABLE deliveries DROP COLUMN request;
