-- How far each consumer group has read each model's predictions on each partition, in event
-- time (kind 'event_time': the newest event read) and processing time (kind 'read_at': when the
-- model's last record there was read; 'first_read': when the latest process to read it there
-- read its first). A model's window closes once every partition has shown
-- one of its predictions past the window's end plus allowed_lateness, or has been read to its end
-- with nothing of the model for a while: another model's records never close it. Every value only
-- grows, so the row a merge keeps is the largest.
CREATE TABLE IF NOT EXISTS {{db}}.model_partition_progress (
  consumer_group String,
  topic String,
  model_id String,
  partition UInt32,
  kind String,
  value UInt64
) ENGINE = ReplacingMergeTree(value)
ORDER BY (consumer_group, topic, model_id, partition, kind);
