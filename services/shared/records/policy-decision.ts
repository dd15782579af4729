// The `policy_decisions` table row (infra/clickhouse/0300_policy.sql, 0320): written by the policy
// service, read back by it on start, by the console and by the main job's report.

/** A `policy_decisions` row as written (ClickHouse may return its 64-bit numbers as strings). */
export type PolicyDecisionRecord = {
  decision_id: string
  model_id: string
  model_version: string
  episode_id: string
  decision: string
  deciding_gate: string
  deciding_code: string
  reason_gates: string[]
  reason_verdicts: string[]
  reason_codes: string[]
  reason_messages: string[]
  explanation: string
  evidence_queries: string[]
  trigger_alert_ids: string[]
  trigger_alert_id: string
  trigger_status: string
  trigger_last_seen: number
  change_point: number
  training_data_from: number
  training_data_to: number
  retry_at: number | null
  request_id: string
  awaiting_approval: number
  proposed_request_json: string
  decided_at: number
  decided_time: number
  /** How many times in a row the episode got this answer for this reason, up to last_decided_at. */
  repeats: number
  last_decided_at: number
  policy_version: string
  policy_fingerprint: string
  context_json: string
  version: number
}

/** What a decision answered and why, as the console and the main job's report read it. */
export type DecisionAnswerRecord = Pick<
  PolicyDecisionRecord,
  | 'decision_id'
  | 'decision'
  | 'deciding_gate'
  | 'deciding_code'
  | 'reason_gates'
  | 'reason_verdicts'
  | 'reason_codes'
  | 'reason_messages'
  | 'trigger_alert_id'
  | 'decided_at'
  | 'request_id'
>
