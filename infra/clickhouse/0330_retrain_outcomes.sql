-- Whether a retrain the policy asked for helped: once a newer model version served after the
-- request, its windows with matured labels against the old version's since the change point
-- (accuracy with a 95% interval on the difference), and the value won back against the cost.
-- One row per request (the latest evaluation).
CREATE TABLE IF NOT EXISTS {{db}}.retrain_outcomes (
  request_id String,
  model_id String,
  episode_id String,
  evidence_kind String COMMENT 'The evidence gate code that justified the request, e.g. performance_drop',
  old_version String,
  new_version String,
  status String COMMENT 'helped, no_change or worse (the interval of new minus old accuracy above, around or below 0)',
  old_accuracy Float64,
  new_accuracy Float64,
  difference Float64 COMMENT 'new_accuracy - old_accuracy',
  difference_low Float64,
  difference_high Float64,
  old_labeled UInt64,
  new_labeled UInt64,
  realized_value Nullable(Float64) COMMENT 'Value per labeled prediction won back x predictions served by the new version',
  cost Float64 COMMENT 'What the retrain cost (policy cost block)',
  deployed_at UInt64 COMMENT 'First window of the new version (ms)',
  evaluated_at UInt64,
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (model_id, request_id);
