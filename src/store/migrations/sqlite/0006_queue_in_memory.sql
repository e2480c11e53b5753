-- The SQLite queue's claims, leases and per-call order now live in the process (scheduler.ts):
-- rows stay 'pending' until they succeed or die. These indexes served claims in SQL and cost
-- index writes on every claim and settle; nothing reads them any more. deliveries_in_order
-- stays: the queue is rebuilt from it at start.
DROP INDEX deliveries_due;
DROP INDEX deliveries_leased;
DROP INDEX deliveries_ready;
