-- The unsettled deliveries, from which the queue is rebuilt at start, are listed in a table of
-- their own instead of the partial index deliveries_in_order. Both are written at enqueue and at
-- settle; measured on this machine (one delivery inserted and settled, 64 per commit), the
-- partial index cost ~4.5 µs a delivery and this table ~1.3: an UPDATE that moves a row out of
-- a partial index over three columns pays for the whole index entry, a one-column key does not.
CREATE TABLE deliveries_open (
  id TEXT PRIMARY KEY                  -- deliveries.id of a delivery not yet succeeded or dead
) WITHOUT ROWID;
INSERT INTO deliveries_open (id) SELECT id FROM deliveries WHERE status IN ('queued', 'pending', 'delivering');
DROP INDEX deliveries_in_order;
