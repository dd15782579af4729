-- Detector results per evaluated window (including windows with no finding: the alert
-- episodes are a fold over this sequence, so a restart re-derives the same episodes).
CREATE TABLE IF NOT EXISTS {{db}}.window_evaluations (
  model_id String,
  model_version String,
  segment String,
  window_size_ms UInt64,
  window_start UInt64,
  findings_json String,
  data_version UInt64,
  evaluated_at UInt64
) ENGINE = ReplacingMergeTree(data_version)
ORDER BY (model_id, window_size_ms, model_version, segment, window_start);

-- One row per alert (latest state). An alert is one episode of one problem: its alert_id is a
-- hash of model, kind, subject, segment and the episode's first window.
CREATE TABLE IF NOT EXISTS {{db}}.alerts (
  alert_id String,
  model_id String,
  model_version String,
  segment String,
  kind String,
  subject String,
  severity String,
  status String,
  window_size_ms UInt64,
  window_start UInt64,
  window_end UInt64,
  observed Float64,
  expected Float64,
  threshold Float64,
  evidence_names Array(String),
  evidence_scores Array(Float64),
  evidence_details Array(String),
  label_coverage Nullable(Float64),
  estimated UInt8,
  first_seen UInt64,
  last_seen UInt64,
  summary String,
  evidence_query String,
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (model_id, alert_id);

-- Every transition that was sent on the triggers topic (firing, updated, resolved): the
-- history the policy service replays.
CREATE TABLE IF NOT EXISTS {{db}}.alert_events (
  alert_id String,
  model_id String,
  kind String,
  status String,
  last_seen UInt64,
  trigger_json String,
  emitted_at UInt64
) ENGINE = ReplacingMergeTree()
ORDER BY (model_id, alert_id, last_seen, status);
