-- The settings a window's feature statistics were computed under (features, reference bins and
-- categories, category and segment limits; a hash), so that any monitor instance can reuse them
-- while the window's predictions are unchanged. data_version of these rows counts the window's
-- predictions only: the statistics do not depend on labels or the close.
ALTER TABLE {{db}}.window_feature_stats ADD COLUMN settings_hash String DEFAULT '' AFTER data_version;
