-- The queue's tables are not truncated by VACUUM (issue 10, item 4). delivery_queue and
-- call_timers swing from tens of thousands of rows to nearly none within seconds; a VACUUM then
-- finds the file's last pages empty and gives them back to the OS, which needs an ACCESS
-- EXCLUSIVE lock on the table: every claim, settle and call write of a delivery or timer waits
-- for it, and PostgreSQL takes it again and again (20 ms at a time) while work keeps coming. In
-- the bench's fixed rate after the full-speed phase the VACUUM of delivery_queue (~250 ms) was
-- the worst half second of the run: event→receipt p99 101 ms against 20–55 in the others. The
-- pages stay allocated and are reused by the next rows (VACUUM records their free space).
-- Autovacuum reads this setting; the processes' own VACUUMs (vacuum.ts) say TRUNCATE false.
ALTER TABLE delivery_queue SET (vacuum_truncate = false);
ALTER TABLE call_timers SET (vacuum_truncate = false);
