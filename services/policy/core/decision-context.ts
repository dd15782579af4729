import type { AlertKind, Gate, MonitorTrigger, Reason } from '../../shared/events/types.ts'
import type { RetrainOutcome } from './retrain-outcome.ts'

// Everything a decision looks at, as plain data. The live service loads it from ClickHouse
// (context-loader.ts) and stores it with the decision; replay feeds the stored copy back, so a
// dry run sees what the live run saw, not what is known today.

/** One model episode: the alerts of one model that overlap in time, decided together. */
export interface Episode {
  episode_id: string
  model_id: string
  /** Version that was serving when the episode opened (the one that degraded). */
  model_version: string
  /** Earliest first_seen of the episode's alerts: where the change began. */
  change_point: number
  /** Latest state of every alert of the episode, by alert_id. */
  alerts: MonitorTrigger[]
  /** The trigger this decision is about. */
  trigger: MonitorTrigger
}

/** Window metrics of one window (all model versions together), as the monitor stored them. */
export interface WindowFacts {
  segment: string
  window_start: number
  window_end: number
  volume: number
  labeled_count: number
  /** labeled_count / volume: the label maturity of this window. */
  label_coverage: number
  label_delay_p50_ms: number | null
  label_delay_p90_ms: number | null
  /** Performance metrics with labels (accuracy, f1, mae, ...), null when unknown. */
  metrics: Record<string, number | null>
  /** CBPE estimate of accuracy without labels. */
  estimated_accuracy: number | null
  /** Sum of the cost matrix over the window's labeled predictions. */
  business_value: number | null
}

export interface Deploy {
  model_version: string
  /** First window the version served in. */
  first_seen: number
}

export interface PastRequest {
  request_id: string
  episode_id: string
  /** The decision that made (or whose approval made) the request. */
  decision_id: string
  requested_at: number
  cost: number
}

export interface ApprovalAction {
  decision_id: string
  episode_id: string
  action: 'approve' | 'reject'
  at: number
}

/** Facts read from the monitor's tables; fixed once loaded (stored with the decision). */
export interface ContextFacts {
  /** Decision time: the clock the ETA, cooldown and rate windows are measured against. */
  as_of: number
  window_size_ms: number
  /** Alerts of the model whose time range touches [change_point - lookback, as_of]. */
  concurrent_alerts: MonitorTrigger[]
  /** Windows of every segment from reference_period before the change point until now. */
  windows: WindowFacts[]
  /** Labels joined per hour lately (label_health), the pace at which maturity improves. */
  label_rate_per_hour: number | null
  deploys: Deploy[]
  /** The ClickHouse SQL behind the numbers, by name (cited by the gates). */
  queries: Record<string, string>
}

export type InvestigationKind = 'pipeline_bug' | 'real_change' | 'false_alarm'

/** What on-call found when they looked into an episode (recorded through the policy API). */
export interface InvestigationOutcome {
  episode_id: string
  model_id: string
  outcome: InvestigationKind
  /** pipeline_bug: when it was fixed. Its windows, from `change_point` until then, are left out
   *  of every later decision's evidence and request's training data. Null otherwise. */
  fixed_at: number | null
  /** The episode's change point when the outcome was recorded. */
  change_point: number
  actor: string
  comment: string
  /** When it was recorded (wall clock). */
  at: number
}

/** The policy service's own memory: what it already did for this model. */
export interface PolicyHistory {
  retrains: PastRequest[]
  approvals: ApprovalAction[]
  /** Investigation outcomes of the model's episodes, oldest first. */
  investigations?: InvestigationOutcome[]
  /** How the model's past retrains turned out (retrain-outcome.ts). */
  retrain_outcomes?: RetrainOutcome[]
}

export interface DecisionContext extends ContextFacts {
  episode: Episode
  history: PolicyHistory
}

/** pass: the gate lets the retrain through (annotations are passes with a note). */
export type Verdict = 'pass' | 'hold' | 'investigate' | 'suppress'

export interface GateOutcome {
  verdict: Verdict
  reason: Reason
  /** Names of context.queries that back the numbers in the message. */
  evidence: string[]
  /** When a hold is expected to lift (labels mature, cooldown ends), if known. */
  retry_at?: number
  /** Numbers the gate computed, for tests and the stored decision. */
  facts?: Record<string, number | string | boolean | null>
}

export type GateFn<P> = (context: DecisionContext, policy: P) => GateOutcome

export function outcome(gate: Gate, verdict: Verdict, code: string, message: string, extra: Partial<GateOutcome> = {}): GateOutcome {
  return { verdict, reason: { gate, code, message }, evidence: [], ...extra }
}

/** Kinds that describe a change of the model's world (as opposed to broken data). */
export const SHIFT_KINDS: readonly AlertKind[] = ['drift', 'prediction_drift', 'performance', 'estimated_performance']
