-- Whether a request only asks for the window's close (close_check = 1: none of the asker's
-- records is in it). The owner skips such a request for a window it has already computed closed.
-- The flag is part of the key, so that a later close-only request never replaces an earlier one
-- for records of the window (ReplacingMergeTree keeps the latest row per key).
--
-- Every statement can run again after an interruption, as in 0140: a request lost in the copy is
-- only computed by its asker after the owner's wait.
CREATE TABLE IF NOT EXISTS {{db}}.window_requests_by_kind (
  model_id String,
  window_size_ms UInt64,
  window_start UInt64,
  requested_at UInt32,
  urgent UInt8,
  close_check UInt8
) ENGINE = ReplacingMergeTree(requested_at)
ORDER BY (model_id, window_size_ms, window_start, close_check);

INSERT INTO {{db}}.window_requests_by_kind (model_id, window_size_ms, window_start, requested_at, urgent, close_check)
SELECT model_id, window_size_ms, window_start, requested_at, urgent, 0 FROM {{db}}.window_requests;

DROP TABLE IF EXISTS {{db}}.window_requests_unkeyed;

RENAME TABLE {{db}}.window_requests TO {{db}}.window_requests_unkeyed, {{db}}.window_requests_by_kind TO {{db}}.window_requests;

DROP TABLE IF EXISTS {{db}}.window_requests_unkeyed;
