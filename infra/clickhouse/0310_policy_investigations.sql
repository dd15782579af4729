-- What on-call found when they investigated an episode (POST /episodes/:episode_id/investigation):
-- pipeline_bug (with fixed_at), real_change or false_alarm. The latest row of an episode counts;
-- every call is also audited in policy_approvals (action 'investigation').
CREATE TABLE IF NOT EXISTS {{db}}.policy_investigations (
  model_id String,
  episode_id String,
  outcome String COMMENT 'pipeline_bug, real_change or false_alarm',
  fixed_at UInt64 COMMENT 'pipeline_bug: when it was fixed (ms); its windows from change_point until then are left out of later decisions. 0 otherwise',
  change_point UInt64 COMMENT 'The episode''s change point when the outcome was recorded (ms)',
  actor String COMMENT 'Owner of the bearer token that recorded it',
  comment String,
  at UInt64 COMMENT 'When it was recorded (ms, wall clock)',
  at_time DateTime
) ENGINE = MergeTree
ORDER BY (model_id, episode_id, at);
