-- The policy service's durable state and audit. Every key is deterministic (hash of model and
-- episode, or of the trigger state decided), so a redelivered trigger rewrites the same rows;
-- read with FINAL. Times are UInt64 ms since the Unix epoch (UTC); *_time columns are DateTime
-- copies for people. Column comments are shown by DESCRIBE TABLE and system.columns.

-- Every trigger the policy consumed, in topic order: the history replay folds over.
CREATE TABLE IF NOT EXISTS {{db}}.policy_triggers (
  model_id String COMMENT 'Model the alert is about',
  alert_id String COMMENT 'Alert id from the monitor (same problem, same id)',
  status String COMMENT 'firing or resolved',
  last_seen UInt64 COMMENT 'Window start of the latest window that fired (ms)',
  kind String COMMENT 'drift, performance, data_quality, ...',
  subject String COMMENT 'What the alert is about (features, accuracy, null_rate, volume)',
  segment String COMMENT 'Segment attribute=value or all',
  outcome String COMMENT 'applied, stale (older or redelivered state) or ignored (resolution without episode)',
  episode_id String COMMENT 'Episode the trigger was grouped into, empty when ignored',
  decision_id String COMMENT 'Decision made on this trigger, empty when none',
  trigger_json String COMMENT 'The MonitorTrigger as received (JSON)',
  kafka_partition UInt32,
  kafka_offset UInt64,
  received_at UInt64 COMMENT 'When the policy service handled it (ms)'
) ENGINE = ReplacingMergeTree()
ORDER BY (model_id, alert_id, last_seen, status);

-- One row per decision: what was decided, by which gate, and the whole path through the gates.
CREATE TABLE IF NOT EXISTS {{db}}.policy_decisions (
  decision_id String COMMENT 'sha256 of model, episode, trigger state and policy',
  model_id String,
  model_version String COMMENT 'Version serving when the episode opened',
  episode_id String COMMENT 'The model episode decided about',
  decision String COMMENT 'retrain, hold, investigate or suppress',
  deciding_gate String COMMENT 'First gate that did not pass, empty for retrain',
  deciding_code String COMMENT 'Its machine-readable reason, e.g. too_few_fresh_labels',
  reason_gates Array(String) COMMENT 'Every gate evaluated, in order',
  reason_verdicts Array(String) COMMENT 'pass, hold, investigate or suppress per gate',
  reason_codes Array(String) COMMENT 'Reason code per gate',
  reason_messages Array(String) COMMENT 'Reason text per gate',
  explanation String COMMENT 'The decision in one paragraph',
  evidence_queries Array(String) COMMENT 'ClickHouse SQL behind the numbers',
  trigger_alert_ids Array(String) COMMENT 'Alerts of the episode at decision time',
  trigger_alert_id String COMMENT 'The alert whose update caused this decision',
  trigger_status String,
  trigger_last_seen UInt64,
  change_point UInt64 COMMENT 'Start of the episode (earliest first_seen)',
  training_data_from UInt64 COMMENT 'Suggested training range start (change point)',
  training_data_to UInt64 COMMENT 'Suggested training range end (latest window with mature labels)',
  retry_at Nullable(UInt64) COMMENT 'When a hold is expected to lift, when known',
  request_id String COMMENT 'Retrain request sent for this decision, empty when none',
  awaiting_approval UInt8 COMMENT '1 when every gate passed and a human approval is needed',
  proposed_request_json String COMMENT 'The RetrainRequest an approval sends (JSON)',
  decided_at UInt64,
  decided_time DateTime,
  policy_version String,
  policy_fingerprint String COMMENT 'Hash of the policy rules in force',
  context_json String COMMENT 'The facts the gates saw (JSON), replayed by dry runs',
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (model_id, decision_id);

-- At most one row per episode. status moves recorded, producing, produced; version is that rank
-- so a late rewrite can never move a request back.
CREATE TABLE IF NOT EXISTS {{db}}.retrain_requests (
  request_id String COMMENT 'sha256 of model and episode: one request per episode',
  model_id String,
  model_version String,
  episode_id String,
  decision_id String COMMENT 'Decision (or approved decision) that made the request',
  requested_at UInt64,
  requested_time DateTime,
  training_data_from UInt64,
  training_data_to UInt64,
  reasons Array(String) COMMENT 'gate:code of every gate passed',
  explanation String,
  evidence_queries Array(String),
  cost Float64 COMMENT 'compute + storage + evaluation cost under the policy',
  approved_by String COMMENT 'Who approved it, empty when no approval was needed',
  status String COMMENT 'recorded (not yet sent), producing (send started) or produced (broker acknowledged)',
  request_json String COMMENT 'The exact RetrainRequest sent (JSON)',
  produced_at UInt64,
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (model_id, request_id);

-- Episodes: open ones are the live state, closed ones keep their alerts for late updates.
CREATE TABLE IF NOT EXISTS {{db}}.policy_episodes (
  episode_id String,
  model_id String,
  model_version String,
  status String COMMENT 'open or closed',
  opened_at UInt64,
  change_point UInt64,
  request_id String COMMENT 'Request sent for the episode, empty when none',
  alerts_json String COMMENT 'Latest state of each alert of the episode (JSON)',
  updated_at UInt64,
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (model_id, episode_id);

-- Audit of every approval API action, accepted or refused.
CREATE TABLE IF NOT EXISTS {{db}}.policy_approvals (
  action_id String,
  at UInt64,
  at_time DateTime,
  decision_id String,
  model_id String,
  episode_id String,
  action String COMMENT 'approve or reject',
  result String COMMENT 'ok, not_found, not_pending, unauthorized or invalid',
  actor String COMMENT 'Who acted (from the request), empty when unauthenticated',
  comment String,
  remote_addr String,
  request_id String COMMENT 'Retrain request sent by an approval'
) ENGINE = MergeTree()
ORDER BY (at, action_id);
