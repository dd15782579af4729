-- Per window, when (ClickHouse server seconds) the latest computation that was judged began
-- reading: rows stored before that second are in its numbers, and its alerts are published. A
-- monitor instance that leaves a model's windows to the instance owning them commits its records
-- once such a computation covers them. Internal to the monitor.
CREATE TABLE IF NOT EXISTS {{db}}.window_computations (
  model_id String,
  window_size_ms UInt64,
  window_start UInt64,
  computed_from UInt32
) ENGINE = ReplacingMergeTree(computed_from)
ORDER BY (model_id, window_size_ms, window_start);
