-- The queue apart from the log (issue 10, item 4). `deliveries` was both: every claim, promotion
-- and settle wrote a new version of a row kept for the log, none of them HOT (the status is in
-- the partial indexes' predicates), with entries in its 8 indexes; and each VACUUM (every ~25 s
-- at 500 events/s) read all 8 indexes of every delivery kept, 0.5–1.9 s during which the
-- deliveries' latency jumped (p50 20–100 ms). Now a delivery that is not settled also has a
-- small row in `delivery_queue` (queued, pending or delivering): claims, promotions, reaps and
-- leases touch only it, and it is deleted when the delivery settles for good. The log row is
-- written at enqueue and rewritten once per settled attempt.
CREATE TABLE delivery_queue (
  id              TEXT PRIMARY KEY,
  order_key       TEXT NOT NULL,
  call_id         TEXT NOT NULL,
  event_seq       INTEGER NOT NULL,
  status          TEXT NOT NULL,
  next_attempt_at BIGINT NOT NULL,
  locked_by       TEXT,
  locked_until    BIGINT
);
INSERT INTO delivery_queue (id, order_key, call_id, event_seq, status, next_attempt_at, locked_by, locked_until)
  SELECT id, order_key, call_id, event_seq, status, next_attempt_at, locked_by, locked_until
  FROM deliveries WHERE status IN ('queued', 'pending', 'delivering');
CREATE INDEX delivery_queue_due ON delivery_queue (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX delivery_queue_ready ON delivery_queue (order_key, next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX delivery_queue_leased ON delivery_queue (locked_until) WHERE status = 'delivering';
-- every row is unsettled: a line's order needs no predicate
CREATE INDEX delivery_queue_in_order ON delivery_queue (order_key, call_id, event_seq);

DROP INDEX deliveries_due;
DROP INDEX deliveries_ready;
DROP INDEX deliveries_leased;
DROP INDEX deliveries_in_order;
-- an open delivery's log row keeps the status it had at enqueue or its last attempt; the queue
-- row says whether it is being attempted, and by whom
UPDATE deliveries SET status = 'pending' WHERE status = 'delivering';
ALTER TABLE deliveries DROP COLUMN locked_by;
ALTER TABLE deliveries DROP COLUMN locked_until;
