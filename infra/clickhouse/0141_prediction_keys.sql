-- What the monitor needs to find a prediction by its id (to join a label to it): a narrow copy
-- of the predictions table sorted by prediction_id, filled by ClickHouse itself on every insert
-- into predictions (the materialized view), so it can never miss a stored prediction. Read it
-- like predictions: a redelivered record collapses under FINAL.
CREATE TABLE IF NOT EXISTS {{db}}.prediction_keys (
  model_id String,
  prediction_id String,
  model_version String,
  event_time UInt64,
  event_date Date,
  kafka_partition UInt32,
  kafka_offset UInt64,
  kafka_timestamp UInt64
) ENGINE = ReplacingMergeTree()
PARTITION BY toMonday(event_date)
ORDER BY (model_id, prediction_id, kafka_partition, kafka_offset);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.prediction_keys_feed TO {{db}}.prediction_keys AS
SELECT model_id, prediction_id, model_version, event_time, event_date, kafka_partition, kafka_offset, kafka_timestamp
FROM {{db}}.predictions;

-- Predictions stored before the view existed (run again, rows copied twice collapse).
INSERT INTO {{db}}.prediction_keys
SELECT model_id, prediction_id, model_version, event_time, event_date, kafka_partition, kafka_offset, kafka_timestamp
FROM {{db}}.predictions;
