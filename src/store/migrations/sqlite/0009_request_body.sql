-- A delivery's body in a column of its own, as it is sent, instead of a string escaped inside
-- the request's JSON: every quote of a JSON body took a backslash (~14 % of a stored request in
-- workload (b)), written once to the WAL and once more by the checkpointer. Rows written before
-- keep their body inside `request` (body IS NULL); see rows.ts deliveryFromRow.
ALTER TABLE delivery_requests ADD COLUMN body TEXT;
