-- A decision is stored when the answer or its reason changes: the same answer again for the same
-- episode is counted on the stored row (repeats, last_decided_at) instead of adding a row.
ALTER TABLE {{db}}.policy_decisions ADD COLUMN repeats UInt32 DEFAULT 1 AFTER decided_time;
ALTER TABLE {{db}}.policy_decisions ADD COLUMN last_decided_at UInt64 DEFAULT 0 AFTER repeats;
