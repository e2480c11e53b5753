-- When the engine next has work: the earliest due timer that is not leased (call_timers_by_due)
-- or the earliest lease to run out (this index). Before, MIN(COALESCE(locked_until, due_at))
-- read every timer row on each engine round: a switch call keeps its idle timer for hours, so
-- at ~10,000 live switch calls that was a scan of 10,000 rows per round, and rounds follow
-- every "there is work" hint. Leased rows are few (a lease lasts while a step is played).
CREATE INDEX call_timers_leased ON call_timers (locked_until) WHERE locked_until IS NOT NULL;
