-- Issue 11: every call gets a per-account integer `number` (1, 2, 3 …; seed 004's integer
-- `call_id`). The last number given per account; a number is taken before the call's write, so
-- a write that is refused (a repeated Idempotency-Key racing its twin) leaves a gap.
CREATE TABLE call_numbers (
  account_id TEXT PRIMARY KEY,
  last       INTEGER NOT NULL
) WITHOUT ROWID;
