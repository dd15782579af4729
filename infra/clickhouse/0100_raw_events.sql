-- Raw events as received, one row per Kafka record. Redelivered records (same partition and
-- offset) collapse under FINAL; genuine duplicates (same prediction_id at another offset) stay
-- visible so they can be counted. Reads take the first arrival per prediction_id:
--   SELECT ... FROM predictions FINAL WHERE model_id = '...'
--   ORDER BY prediction_id, kafka_timestamp, kafka_partition, kafka_offset LIMIT 1 BY prediction_id
-- Times are UInt64 milliseconds since the Unix epoch (UTC); *_date columns exist for partitioning.
CREATE TABLE IF NOT EXISTS {{db}}.predictions (
  prediction_id String,
  model_id String,
  model_version String,
  event_time UInt64,
  event_date Date,
  numeric_names Array(String),
  numeric_values Array(Nullable(Float64)),
  categorical_names Array(String),
  categorical_values Array(Nullable(String)),
  predicted_class Nullable(String),
  score Nullable(Float64),
  class_names Array(String),
  class_scores Array(Float64),
  predicted_value Nullable(Float64),
  segment_names Array(String),
  segment_values Array(String),
  kafka_partition UInt32,
  kafka_offset UInt64,
  kafka_timestamp UInt64,
  ingested_at UInt64
) ENGINE = ReplacingMergeTree()
PARTITION BY toMonday(event_date)
ORDER BY (model_id, prediction_id, kafka_partition, kafka_offset);

-- Ground truth as received. The latest label per prediction_id (by label_time) is the truth;
-- a label may arrive before its prediction: the window computation joins by prediction_id,
-- so it counts as soon as the prediction is there.
CREATE TABLE IF NOT EXISTS {{db}}.labels (
  prediction_id String,
  model_id String,
  label_time UInt64,
  label_date Date,
  label_class Nullable(String),
  label_value Nullable(Float64),
  kafka_partition UInt32,
  kafka_offset UInt64,
  kafka_timestamp UInt64,
  ingested_at UInt64
) ENGINE = ReplacingMergeTree()
PARTITION BY toMonday(label_date)
ORDER BY (model_id, prediction_id, kafka_partition, kafka_offset);

-- Labels whose prediction had not arrived within the model's orphan wait. Rows are rewritten
-- (same key) when the prediction turns up after all, with resolved = 1.
CREATE TABLE IF NOT EXISTS {{db}}.orphan_labels (
  prediction_id String,
  model_id String,
  label_time UInt64,
  first_seen UInt64,
  resolved UInt8,
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (model_id, prediction_id);
