-- Windows closed by processing time: every predictions partition read to its end and no newer
-- prediction of the model for MONITOR_IDLE_CLOSE_MS after the window's end plus allowed_lateness.
-- Recorded so that every later computation, a replay or another instance closes them the same
-- way; closed_at (the earliest, should two instances record one) stands where the closing
-- prediction's Kafka timestamp would.
CREATE TABLE IF NOT EXISTS {{db}}.window_idle_closes (
  model_id String,
  window_size_ms UInt64,
  window_start UInt64,
  closed_at UInt64
) ENGINE = MergeTree
ORDER BY (model_id, window_size_ms, window_start);
