-- Slim queue rows (issue 10): the rendered request is written once, at enqueue, and never
-- rewritten by claims and settles, which rewrite a deliveries row three times or more (claim,
-- settle, promotion). The ~1 KB body copied into each new row version now stays put in
-- delivery_requests; the rows a claim touches carry only what the claim needs.
CREATE TABLE delivery_requests (delivery_id TEXT PRIMARY KEY, request TEXT NOT NULL);
INSERT INTO delivery_requests (delivery_id, request) SELECT id, request FROM deliveries;
ALTER TABLE deliveries DROP COLUMN request;
