-- When the engine next has work: the earliest due timer that is not leased (call_timers_by_due)
-- or the earliest lease to run out (this index), as PostgreSQL's 0006 does. Before, the query
-- MIN(COALESCE(locked_until, due_at)) read every timer row on each engine round that found less
-- than a full batch due: a switch call keeps its idle timer for its whole life, so 10,000 live
-- switch calls made a scan of 10,000 rows per round, and rounds follow every call write's
-- "there is work" hint. Leased rows are few (a lease lasts while a step is played).
CREATE INDEX call_timers_leased ON call_timers (locked_until) WHERE locked_until IS NOT NULL;
