import type { ModelConfig } from '../../../shared/config/model-config.ts'
import type { AlertKind, Evidence, Severity } from '../../../shared/events/types.ts'
import type { ReferenceProfile } from '../../../shared/records/reference-profile.ts'
import type { FeatureWindowStats, WindowKey, WindowSummary } from '../../../shared/records/window-metrics.ts'
import type { DetectorConfig, Levels } from './detector-config.ts'

/** One window's metrics as the detectors read them. */
export interface WindowSnapshot {
  summary: WindowSummary
  features: FeatureWindowStats[]
}

/** Label join counters of one window (by label time; per model, all versions and segments). */
export interface JoinHealth {
  model_id: string
  window_size_ms: number
  window_start: number
  labels_received: number
  labels_joined: number
  /** Not joined yet but first seen less than join_grace ago: left out of the join rate. */
  labels_pending: number
  /** Labels stored as orphans (no prediction found after the configured wait). */
  orphan_labels: number
  /** Extra copies of prediction ids seen in the window. */
  duplicate_predictions: number
  /** Predictions of the window (denominator of the duplicate share). */
  predictions: number
}

/** The queries a finding cites as evidence, written for the configured database (store/evidence-sql.ts). */
export interface EvidenceQueries {
  /** Per-feature statistics of the features over the window and the `windowsBack` before it. */
  featureStats(key: WindowKey, features: string[], columns: string[], windowsBack: number): string
  /** Null rate and value counts of the features. */
  nullRate(key: WindowKey, features: string[], windowsBack: number): string
  /** Window summary columns (all versions when acrossVersions). */
  summary(key: WindowKey, columns: string[], windowsBack: number, acrossVersions?: boolean): string
  /** Label join counters of a model. */
  labelHealth(modelId: string, windowSizeMs: number, windowStart: number, windowsBack: number): string
}

export interface DetectorInput {
  model: ModelConfig
  evidence: EvidenceQueries
  config: DetectorConfig
  /** null when the model has no reference profile: reference-based checks are skipped. */
  reference: ReferenceProfile | null
  current: WindowSnapshot
  /** Earlier windows of the same model, segment and window size, oldest first (may mix versions). */
  history: WindowSnapshot[]
  /** Start of the first window of current.summary.key.model_version, when the caller knows it. */
  version_first_window_start?: number | null
  join_health?: JoinHealth | null
  /** Earlier join-health windows, oldest first. */
  join_history?: JoinHealth[]
}

/** Something a detector found in one window. Plain data: stored as JSON with the window's evaluation. */
export interface Finding {
  key: WindowKey
  kind: AlertKind
  /** What is wrong: 'features', 'prediction', 'accuracy', 'null_rate', 'volume', ... */
  subject: string
  severity: Severity
  /** The measure compared with the threshold: 'psi', 'accuracy_drop', 'null_rate_increase', 'robust_z', ... */
  measure: string
  observed: number
  expected: number
  /** The warning level that was crossed. */
  threshold: number
  /** Ranked, most important first. */
  evidence: Evidence[]
  label_coverage: number | null
  estimated: boolean
  summary: string
  runbook: string
  evidence_query: string
}

/** A check that could not judge the window, with why (for the caller's logs). */
export interface Skip {
  detector: 'drift' | 'performance' | 'data_quality' | 'anomaly' | 'join_health'
  subject: string
  reason: string
}

/**
 * An alert identity (kind and subject, in the window's model, segment and window size) that a
 * detector could not judge in the window: no finding, but not a clean window either (too few
 * labels, too little volume, no baseline). Stored with the window's evaluation; the episode fold
 * skips such a window for that identity, so it neither extends nor resolves an episode.
 */
export interface NotJudged {
  kind: AlertKind
  subject: string
  reason: string
}

export interface DetectorResult {
  findings: Finding[]
  skipped: Skip[]
  /** Identities this detector could not judge in the window (absent: it judged all it checks). */
  not_judged?: NotJudged[]
}

export function severityOf(value: number, levels: Levels): Severity | null {
  if (value >= levels.critical) return 'critical'
  if (value >= levels.warning) return 'warning'
  return null
}

export function worseSeverity(a: Severity, b: Severity): Severity {
  const rank: Record<Severity, number> = { info: 0, warning: 1, critical: 2 }
  return rank[a] >= rank[b] ? a : b
}

/** A number for summaries and evidence: 3 significant digits, no exponent for ordinary values. */
export function fmt(value: number): string {
  if (!Number.isFinite(value)) return String(value)
  if (value !== 0 && Math.abs(value) < 0.001) return value.toExponential(2)
  return String(Number(value.toPrecision(3)))
}

export function pct(value: number): string {
  return `${fmt(value * 100)}%`
}

export function windowLabel(key: WindowKey): string {
  return `${key.model_id} ${key.model_version} segment ${key.segment}`
}
