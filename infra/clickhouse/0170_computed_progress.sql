-- How far the monitor has finished each partition of the predictions and labels topics, in record
-- (Kafka) time: the records stored, every window they touch recomputed, the detectors run and the
-- alert transitions published. The policy decides about a data time only once every partition is
-- past it (or holds nothing newer), so a lagging monitor delays decisions instead of changing them.
CREATE TABLE IF NOT EXISTS {{db}}.computed_progress (
  consumer_group String,
  topic String,
  partition UInt32,
  max_timestamp UInt64,
  caught_up UInt8,
  updated_at UInt64
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (consumer_group, topic, partition);
