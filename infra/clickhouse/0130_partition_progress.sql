-- How far each consumer group has read each partition, in record (Kafka) time. A window closes
-- only once every partition of the predictions topic has been read past the window's close
-- time (or holds nothing newer), so a partition that lags behind cannot make a window look
-- complete too early. caught_up = 1: the partition had nothing more when last read.
CREATE TABLE IF NOT EXISTS {{db}}.partition_progress (
  consumer_group String,
  topic String,
  partition UInt32,
  max_timestamp UInt64,
  caught_up UInt8,
  updated_at UInt64
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (consumer_group, topic, partition);
