-- The data time a window's numbers are as of: with MONITOR_STEP_MS, the end of the step it was
-- computed in (only records stamped at or before it count); otherwise the newest record stored
-- when the computation began.
ALTER TABLE {{db}}.window_summary ADD COLUMN as_of UInt64 DEFAULT 0 AFTER data_version;

-- Every computation of a window's headline numbers, by the data time it is as of: how a window's
-- labeled metrics grew as its labels arrived, and what the policy reads for a decision as of a
-- step (the latest row at or before it), however far the monitor has gone since.
CREATE TABLE IF NOT EXISTS {{db}}.window_summary_history (
  model_id String,
  model_version String,
  segment String,
  window_size_ms UInt64,
  window_start UInt64,
  window_end UInt64,
  as_of UInt64,
  volume UInt64,
  labeled_count UInt64,
  label_coverage Float64,
  label_delay_p50_ms Nullable(Float64),
  label_delay_p90_ms Nullable(Float64),
  accuracy Nullable(Float64),
  precision Nullable(Float64),
  recall Nullable(Float64),
  f1 Nullable(Float64),
  log_loss Nullable(Float64),
  roc_auc Nullable(Float64),
  calibration_error Nullable(Float64),
  mae Nullable(Float64),
  rmse Nullable(Float64),
  mape Nullable(Float64),
  estimated_accuracy Nullable(Float64),
  business_value Nullable(Float64),
  closed UInt8,
  data_version UInt64,
  computed_at UInt64
) ENGINE = ReplacingMergeTree(data_version)
PARTITION BY window_size_ms
ORDER BY (model_id, window_size_ms, window_start, segment, model_version, as_of);

-- The data time each published transition was derived as of (the trigger's data_time): the
-- alerts as they stood at a decision step are the latest transitions at or before it.
ALTER TABLE {{db}}.alert_events ADD COLUMN data_time UInt64 DEFAULT 0;
