-- Categorical features keep at most the model's max_category_values distinct values per window;
-- the others are counted together under '__other__' (the last category). These say how many
-- distinct values and how many events that bucket took in, so a feature sent with ids instead of
-- categories is visible instead of growing the arrays without bound.
-- (One column per statement: migrate.ts skips an ADD COLUMN whose column is already there.)
ALTER TABLE {{db}}.window_feature_stats ADD COLUMN overflow_values UInt64 DEFAULT 0 AFTER unseen;
ALTER TABLE {{db}}.window_feature_stats ADD COLUMN overflow_count UInt64 DEFAULT 0 AFTER overflow_values;
