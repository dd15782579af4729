import { proportionDifferenceInterval } from '../../shared/stats/intervals.ts'
import type { RetrainRequest } from '../../shared/events/types.ts'
import type { PolicyConfig } from './policy-config.ts'

// The closed loop: did a retrain the policy asked for help? Once a new model version serves
// after a request, its windows with matured labels are compared with the old version's windows
// since the change point (what the retrain was meant to fix): accuracy with an interval on the
// difference, and the business value it won back against what the retrain cost.

export type RetrainVerdict = 'helped' | 'no_change' | 'worse'

/** One window of one model version (segment all), as the monitor stored it. */
export interface VersionWindow {
  model_version: string
  window_start: number
  volume: number
  labeled_count: number
  label_coverage: number
  accuracy: number | null
  business_value: number | null
}

/** The newest closed window (segment all, any size) of one model version. */
export interface VersionSeen {
  model_id: string
  model_version: string
  last_start: number
}

type Judged = Pick<RetrainRequest, 'model_id' | 'model_version' | 'requested_at'>

/** A version other than the request's, serving from its request on: what a retrain is judged by. */
const newerThan = (request: Judged, version: string, start: number): boolean => version !== request.model_version && start >= request.requested_at

/**
 * Whether a version newer than the request's has served, from each version's newest window: a
 * cheap look before reading the model's windows, since without one evaluateRetrain tells nothing.
 */
export function hasNewerVersion(request: Judged, seen: VersionSeen[]): boolean {
  return seen.some((v) => v.model_id === request.model_id && newerThan(request, v.model_version, v.last_start))
}

export interface RetrainOutcome {
  request_id: string
  model_id: string
  episode_id: string
  /** What justified the request (its evidence gate code). */
  evidence_kind: string
  old_version: string
  new_version: string
  status: RetrainVerdict
  old_accuracy: number
  new_accuracy: number
  /** new minus old, with its 95% interval (Newcombe). */
  difference: number
  difference_low: number
  difference_high: number
  old_labeled: number
  new_labeled: number
  /** Value per labeled prediction won back, times the predictions the new version served so far. */
  realized_value: number | null
  cost: number
  /** First window of the new version. */
  deployed_at: number
}

/** The evidence gate's code of a request ('performance_drop', 'drift_with_estimated_drop'). */
export function evidenceKind(request: Pick<RetrainRequest, 'reasons'>): string {
  return request.reasons.find((r) => r.startsWith('evidence:'))?.slice('evidence:'.length) ?? 'unknown'
}

interface Totals {
  labeled: number
  correct: number
  value: number | null
  volume: number
  windows: number
}

function totals(windows: VersionWindow[]): Totals {
  const known = windows.filter((w) => w.accuracy !== null && w.labeled_count > 0)
  const valued = known.filter((w) => w.business_value !== null)
  return {
    labeled: known.reduce((s, w) => s + w.labeled_count, 0),
    correct: known.reduce((s, w) => s + Math.round(w.accuracy! * w.labeled_count), 0),
    value: valued.length > 0 ? valued.reduce((s, w) => s + w.business_value!, 0) : null,
    volume: windows.reduce((s, w) => s + w.volume, 0),
    windows: known.length,
  }
}

/**
 * The outcome of a produced request, or null while it cannot be told yet: no newer version,
 * or fewer than `persistence_windows` of its windows with `min_label_coverage`, or fewer than
 * `min_fresh_labels` labels on either side.
 */
export function evaluateRetrain(request: RetrainRequest, windows: VersionWindow[], policy: PolicyConfig, cost: number): RetrainOutcome | null {
  const newer = windows.filter((w) => newerThan(request, w.model_version, w.window_start)).sort((a, b) => a.window_start - b.window_start)
  const newVersion = newer[0]?.model_version
  if (newVersion === undefined) return null
  const deployedAt = newer[0]!.window_start
  const mature = (w: VersionWindow): boolean => w.label_coverage >= policy.min_label_coverage
  const before = windows.filter(
    (w) => w.model_version === request.model_version && w.window_start >= request.training_data_from && w.window_start < deployedAt && mature(w),
  )
  const after = windows.filter((w) => w.model_version === newVersion && mature(w))
  const old = totals(before)
  const cur = totals(after)
  if (cur.windows < policy.persistence_windows || old.windows === 0) return null
  if (Math.min(old.labeled, cur.labeled) < policy.min_fresh_labels) return null
  const diff = proportionDifferenceInterval(cur.correct, cur.labeled, old.correct, old.labeled)
  if (!diff) return null
  const status: RetrainVerdict = diff.low > 0 ? 'helped' : diff.high < 0 ? 'worse' : 'no_change'
  const served = windows.filter((w) => w.model_version === newVersion).reduce((s, w) => s + w.volume, 0)
  const realized = old.value !== null && cur.value !== null ? (cur.value / cur.labeled - old.value / old.labeled) * served : null
  return {
    request_id: request.request_id,
    model_id: request.model_id,
    episode_id: request.episode_id,
    evidence_kind: evidenceKind(request),
    old_version: request.model_version,
    new_version: newVersion,
    status,
    old_accuracy: old.correct / old.labeled,
    new_accuracy: cur.correct / cur.labeled,
    difference: diff.estimate,
    difference_low: diff.low,
    difference_high: diff.high,
    old_labeled: old.labeled,
    new_labeled: cur.labeled,
    realized_value: realized,
    cost,
    deployed_at: deployedAt,
  }
}

/**
 * How much more evidence of a kind the next request of a model needs: twice the threshold for
 * each retrain on that kind of evidence that did not help (at most four times).
 */
export function evidenceFactor(outcomes: Pick<RetrainOutcome, 'evidence_kind' | 'status'>[] | undefined, kind: string): { factor: number; unhelpful: number } {
  const unhelpful = (outcomes ?? []).filter((o) => o.evidence_kind === kind && o.status !== 'helped').length
  return { factor: Math.min(4, 2 ** unhelpful), unhelpful }
}
