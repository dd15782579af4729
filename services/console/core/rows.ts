// Row shapes the console's store returns and its pages render.

import type { DecisionAnswerRecord, PolicyDecisionRecord } from '../../shared/records/policy-decision.ts'

export interface ModelState {
  model_id: string
  task: string
  window_size_ms: number
  firing: number
  firing_critical: number
  open_episodes: number
  /** Newest window of the model (segment all), with its label coverage. */
  last_window: number | null
  label_coverage: number | null
  /** Newest stored prediction waiting for its windows to be recomputed (ms, wall clock). */
  lag_ms: number | null
}

export interface WindowPoint {
  window_start: number
  model_version: string
  volume: number
  labeled_count: number
  label_coverage: number
  accuracy: number | null
  mae: number | null
  estimated_accuracy: number | null
  business_value: number | null
}

export interface FeaturePoint {
  window_start: number
  feature: string
  kind: string
  count: number
  nulls: number
  histogram: number[]
  categories: string[]
  category_counts: number[]
}

export interface AlertRow {
  alert_id: string
  kind: string
  subject: string
  severity: string
  status: string
  segment: string
  first_seen: number
  last_seen: number
  window_size_ms: number
  summary: string
}

/** A policy_episodes row: the type the policy store reads and writes, so the two cannot drift apart. */
export type { EpisodeRecord as EpisodeRow } from '../../shared/records/policy-episode.ts'

/** The policy_decisions columns an episode page shows. */
export type DecisionRow = DecisionAnswerRecord &
  Pick<PolicyDecisionRecord, 'explanation' | 'trigger_status' | 'awaiting_approval' | 'policy_version' | 'context_json'>

export interface RequestRow {
  request_id: string
  decision_id: string
  requested_at: number
  training_data_from: number
  training_data_to: number
  cost: number
  approved_by: string
  status: string
  explanation: string
}

export interface ApprovalRow {
  at: number
  decision_id: string
  action: string
  result: string
  actor: string
  comment: string
}

export interface DeadLetterCount {
  code: string
  model: string
  count: number
  newest: number
}

export interface InvestigationRow {
  at: number
  outcome: string
  fixed_at: number
  actor: string
  comment: string
}
