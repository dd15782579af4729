-- Per window, the latest time (ClickHouse server seconds) an instance stored records of it and
-- left it to the instance owning its model (window-owner.ts). The owner computes the windows
-- requested at or after the start of their latest judged computation (window_computations), so
-- a window only the other instances' records touch is still computed once, by the owner.
-- Internal to the monitor.
CREATE TABLE IF NOT EXISTS {{db}}.window_requests (
  model_id String,
  window_size_ms UInt64,
  window_start UInt64,
  requested_at UInt32,
  urgent UInt8
) ENGINE = ReplacingMergeTree(requested_at)
ORDER BY (model_id, window_size_ms, window_start);
