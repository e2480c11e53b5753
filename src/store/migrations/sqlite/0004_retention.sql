-- Retention (issue 9) finds what it may delete by age through these, in small batches, without
-- scanning the tables: settled deliveries by status and age, ended calls by age, and the
-- idempotency and ingestion keys by age.
CREATE INDEX deliveries_settled ON deliveries (status, updated_at) WHERE status IN ('succeeded', 'dead');
CREATE INDEX calls_ended ON calls (created_at) WHERE status = 'ended';
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
CREATE INDEX ingested_events_by_age ON ingested_events (created_at);
