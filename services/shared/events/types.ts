// TypeScript shapes of the Avro contract in schemas/*.avsc. Field names follow the schemas
// (snake_case) so that a decoded record is used as it is, without a mapping layer.

export interface PredictionOutput {
  predicted_class: string | null
  scores: Record<string, number>
  value: number | null
}

export interface PredictionEvent {
  prediction_id: string
  model_id: string
  model_version: string
  event_time: number
  numeric_features: Record<string, number | null>
  categorical_features: Record<string, string | null>
  prediction: PredictionOutput
  segments: Record<string, string>
}

export interface LabelEvent {
  prediction_id: string
  model_id: string
  label_time: number
  label_class: string | null
  label_value: number | null
}

export type AlertKind = 'drift' | 'prediction_drift' | 'performance' | 'estimated_performance' | 'data_quality' | 'join_health' | 'anomaly'

export type Severity = 'info' | 'warning' | 'critical'
export type AlertStatus = 'firing' | 'resolved'

export interface Evidence {
  name: string
  score: number
  detail: string
}

export interface MonitorTrigger {
  alert_id: string
  model_id: string
  model_version: string
  segment: string
  kind: AlertKind
  subject: string
  severity: Severity
  status: AlertStatus
  window_size_ms: number
  window_start: number
  window_end: number
  observed: number
  expected: number
  threshold: number
  evidence: Evidence[]
  label_coverage: number | null
  estimated: boolean
  first_seen: number
  last_seen: number
  summary: string
  evidence_query: string
  /** Newest record time the monitor had stored when it derived this state (0: unknown). */
  data_time: number
}

export type DecisionKind = 'retrain' | 'hold' | 'investigate' | 'suppress'

export type Gate = 'root_cause' | 'label_maturity' | 'known_event' | 'segment' | 'persistence' | 'cooldown' | 'rate_limit' | 'budget' | 'evidence' | 'approval'

export interface Reason {
  gate: Gate
  code: string
  message: string
}

export interface PolicyDecision {
  decision_id: string
  model_id: string
  model_version: string
  episode_id: string
  decision: DecisionKind
  reasons: Reason[]
  explanation: string
  evidence_queries: string[]
  trigger_alert_ids: string[]
  decided_at: number
  policy_version: string
}

export interface RetrainRequest {
  request_id: string
  model_id: string
  model_version: string
  episode_id: string
  decision_id: string
  requested_at: number
  training_data_from: number
  training_data_to: number
  reasons: string[]
  explanation: string
  evidence_queries: string[]
}
