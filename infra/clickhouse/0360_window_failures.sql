-- Windows whose computation failed for a reason of their own (ClickHouse refused the query for
-- the model's configuration or rows, a detector threw), not for ClickHouse's availability. The
-- monitor moves on without them, so that one model holds up neither the others nor any commit,
-- and tries them again with backoff, also after a restart. The latest row per window counts:
-- `failing` 1 with the error, or 0 once it was computed again. `at` is milliseconds.
CREATE TABLE IF NOT EXISTS {{db}}.window_failures (
  model_id String,
  window_size_ms UInt64,
  window_start UInt64,
  at UInt64,
  failing UInt8,
  error String
) ENGINE = ReplacingMergeTree(at)
ORDER BY (model_id, window_size_ms, window_start);
