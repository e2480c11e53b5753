-- Claims go target by target (issue 9, isolation): each target's earliest due rows come from
-- this index, and the set of targets with pending rows from a loose scan of its first column.
-- A claim then never walks past a full or failing target's backlog of due rows, as the scan of
-- deliveries_due in time order did (a hung target's backlog raised a healthy target's p99 ×4).
CREATE INDEX deliveries_ready ON deliveries (order_key, next_attempt_at, id) WHERE status = 'pending';
