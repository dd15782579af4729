-- Windowed metrics, recomputed from the deduplicated raw events whenever new data reaches a
-- window (idempotent: a replay recomputes the same numbers). data_version is the newest
-- ingested_at among the rows the computation read, so a computation that saw more data wins,
-- whatever order concurrent writers finish in. Read with FINAL.
-- Windows are tumbling, by prediction event time: window_start = intDiv(event_time, size) * size.
CREATE TABLE IF NOT EXISTS {{db}}.window_summary (
  model_id String,
  model_version String,
  segment String,
  window_size_ms UInt64,
  window_start UInt64,
  window_end UInt64,
  window_start_time DateTime,
  volume UInt64,
  late_count UInt64,
  duplicate_count UInt64,
  labeled_count UInt64,
  label_coverage Float64,
  label_delay_p50_ms Nullable(Float64),
  label_delay_p90_ms Nullable(Float64),
  label_delay_p99_ms Nullable(Float64),
  accuracy Nullable(Float64),
  precision Nullable(Float64),
  recall Nullable(Float64),
  f1 Nullable(Float64),
  log_loss Nullable(Float64),
  roc_auc Nullable(Float64),
  calibration_error Nullable(Float64),
  classes Array(String),
  confusion Array(Array(UInt64)),
  mae Nullable(Float64),
  rmse Nullable(Float64),
  mape Nullable(Float64),
  bias Nullable(Float64),
  estimated_accuracy Nullable(Float64),
  business_value Nullable(Float64),
  closed UInt8,
  data_version UInt64,
  computed_at UInt64
) ENGINE = ReplacingMergeTree(data_version)
PARTITION BY window_size_ms
ORDER BY (model_id, window_size_ms, model_version, segment, window_start);

-- Per feature and window: numeric moments and a histogram on the reference bins, or category
-- counts. The prediction is profiled as the pseudo-features __score, __predicted_class and
-- __predicted_value.
CREATE TABLE IF NOT EXISTS {{db}}.window_feature_stats (
  model_id String,
  model_version String,
  segment String,
  window_size_ms UInt64,
  window_start UInt64,
  feature String,
  kind String,
  count UInt64,
  nulls UInt64,
  min Nullable(Float64),
  max Nullable(Float64),
  mean Nullable(Float64),
  std Nullable(Float64),
  bin_edges Array(Float64),
  histogram Array(UInt64),
  categories Array(String),
  category_counts Array(UInt64),
  unseen UInt64,
  data_version UInt64,
  computed_at UInt64
) ENGINE = ReplacingMergeTree(data_version)
PARTITION BY window_size_ms
ORDER BY (model_id, window_size_ms, model_version, segment, feature, window_start);

-- Label arrivals and orphans per model, by label time (join health).
CREATE TABLE IF NOT EXISTS {{db}}.label_health (
  model_id String,
  window_size_ms UInt64,
  window_start UInt64,
  labels_received UInt64,
  labels_joined UInt64,
  labels_orphaned UInt64,
  data_version UInt64
) ENGINE = ReplacingMergeTree(data_version)
ORDER BY (model_id, window_size_ms, window_start);
