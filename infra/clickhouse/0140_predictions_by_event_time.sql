-- Predictions sorted by event time: a window's queries read only the granules of its own time
-- range instead of every prediction of the model (sorted by prediction_id, the rows of one hour
-- were spread over the whole table, so every window query read all of it). Looking predictions
-- up by prediction_id moves to prediction_keys (0141).
--
-- Rebuilds the table: stop the monitors before applying it (rows inserted while it copies would
-- be lost with the old table). Every statement can run again after an interruption: a leftover
-- copy is filled again (the sort key collapses rows copied twice) and a leftover old table is
-- dropped only once the new one holds its rows.
CREATE TABLE IF NOT EXISTS {{db}}.predictions_by_time AS {{db}}.predictions
ENGINE = ReplacingMergeTree()
PARTITION BY toMonday(event_date)
ORDER BY (model_id, event_time, prediction_id, kafka_partition, kafka_offset);

INSERT INTO {{db}}.predictions_by_time SELECT * FROM {{db}}.predictions;

-- Left by a run interrupted after the rename below: the copy made above holds its rows.
DROP TABLE IF EXISTS {{db}}.predictions_by_id;

RENAME TABLE {{db}}.predictions TO {{db}}.predictions_by_id, {{db}}.predictions_by_time TO {{db}}.predictions;

DROP TABLE IF EXISTS {{db}}.predictions_by_id;
