-- A 64-bit hash of each label's prediction_id, filled by ClickHouse on insert. A window's summary
-- finds its labels among every label of the horizon by testing this hash against its predictions'
-- hashes: a third of the CPU of testing the id strings (1,000,000 labels, 159 -> 52 ms), and
-- the cost grows with the labels kept, not with the window. Parts written before it compute the
-- hash when read until they are merged. MATERIALIZED: `SELECT *` does not show it.
ALTER TABLE {{db}}.labels ADD COLUMN prediction_hash UInt64 MATERIALIZED cityHash64(prediction_id);
