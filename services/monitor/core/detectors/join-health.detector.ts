import type { WindowKey } from '../../../shared/records/window-metrics.ts'
import { median } from '../../../shared/stats/index.ts'
import type { DetectorConfig, Levels } from './detector-config.ts'
import { pct, severityOf, type DetectorResult, type EvidenceQueries, type Finding, type JoinHealth, type NotJudged, type Skip } from './finding.ts'
import { runbookHint } from '../alerts/runbooks.ts'

// Join health: are labels finding their predictions? A falling join rate or a surge of orphan
// labels (against the median of the trailing windows) and duplicate prediction ids each give a
// finding. The join rate leaves out labels still within join_grace of their arrival: a label
// read before its prediction (the predictions consumer lagging, a label sent seconds after its
// prediction) has not failed to join, and counting it made a lagging topic look like a broken
// label feed. Any of them makes the window's measured performance untrustworthy (labels joined to
// the wrong or to no prediction), so performance findings of that window are suppressed.

export interface JoinHealthResult extends DetectorResult {
  /** True when the window's performance findings must be dropped, with why. */
  suppress_performance: boolean
  suppress_reason: string | null
}

/** Labels the join rate judges: the pending ones (too fresh to have failed) are left out. */
const judged = (j: JoinHealth): number => j.labels_received - j.labels_pending
const joinRate = (j: JoinHealth): number => j.labels_joined / judged(j)
const orphanRate = (j: JoinHealth): number => j.orphan_labels / j.labels_received

function finding(
  key: WindowKey,
  subject: string,
  measure: string,
  observed: number,
  expected: number,
  levels: Levels,
  summary: string,
  detail: string,
  query: string,
): Finding | null {
  const change = measure === 'join_rate' ? expected - observed : measure === 'duplicate_share' ? observed : observed - expected
  const severity = severityOf(change, levels)
  if (!severity) return null
  return {
    key,
    kind: 'join_health',
    subject,
    severity,
    measure,
    observed,
    expected,
    threshold: measure === 'join_rate' ? expected - levels.warning : measure === 'duplicate_share' ? levels.warning : expected + levels.warning,
    evidence: [{ name: subject, score: change, detail }],
    label_coverage: null,
    estimated: false,
    summary,
    runbook: runbookHint('join_health', subject),
    evidence_query: query,
  }
}

/**
 * Judges one window's join counters. `key` is the window the findings belong to (segment 'all'
 * of the model's current version); `history` holds earlier join-health windows, oldest first.
 */
export function detectJoinHealth(
  evidence: EvidenceQueries,
  config: DetectorConfig,
  key: WindowKey,
  current: JoinHealth | null | undefined,
  history: JoinHealth[] = [],
): JoinHealthResult {
  const jh = config.join_health
  const skipped: Skip[] = []
  const notJudged: NotJudged[] = []
  const unjudged = (subjects: string[], reason: string): void => {
    for (const subject of subjects) notJudged.push({ kind: 'join_health', subject, reason })
  }
  if (!jh.enabled) return { findings: [], skipped, suppress_performance: false, suppress_reason: null }
  if (!current) {
    const reason = 'no join-health counters for this window'
    skipped.push({ detector: 'join_health', subject: 'labels', reason })
    unjudged(['duplicate_predictions', 'join_rate', 'orphan_labels'], reason)
    return { findings: [], skipped, not_judged: notJudged, suppress_performance: false, suppress_reason: null }
  }
  const findings: Finding[] = []
  const query = evidence.labelHealth(current.model_id, current.window_size_ms, current.window_start, jh.baseline_windows)
  const w = key.window_size_ms
  const dupShare = current.predictions > 0 ? current.duplicate_predictions / current.predictions : 0
  const dup = finding(
    key,
    'duplicate_predictions',
    'duplicate_share',
    dupShare,
    0,
    jh.duplicate_share,
    `${pct(dupShare)} of predictions sent more than once (${current.duplicate_predictions} extra copies of ${current.predictions})`,
    `${current.duplicate_predictions} duplicates / ${current.predictions} predictions`,
    query,
  )
  if (dup) findings.push(dup)

  if (judged(current) < jh.min_labels) {
    const pending = current.labels_pending > 0 ? ` (${current.labels_pending} more pending: not joined yet, first seen less than join_grace ago)` : ''
    const reason = `${judged(current)} labels < min_labels ${jh.min_labels}${pending}`
    skipped.push({ detector: 'join_health', subject: 'join_rate', reason })
    unjudged(['join_rate', 'orphan_labels'], reason)
  } else {
    const base = history
      .filter((h) => h.window_start < current.window_start && h.window_size_ms === w && judged(h) >= jh.min_labels)
      .slice(-jh.baseline_windows)
    if (base.length === 0) {
      const reason = 'no trailing windows with enough labels for a baseline'
      skipped.push({ detector: 'join_health', subject: 'join_rate', reason })
      unjudged(['join_rate', 'orphan_labels'], reason)
    } else {
      const jr = joinRate(current)
      const jrBase = median(base.map(joinRate))
      const or = orphanRate(current)
      const orBase = median(base.map(orphanRate))
      if (jrBase !== null) {
        const f = finding(
          key,
          'join_rate',
          'join_rate',
          jr,
          jrBase,
          jh.join_rate_drop,
          `label join rate ${pct(jr)} vs ${pct(jrBase)} over the last ${base.length} windows`,
          `${current.labels_joined} of ${judged(current)} labels joined${current.labels_pending > 0 ? ` (${current.labels_pending} pending)` : ''}`,
          query,
        )
        if (f) findings.push(f)
      }
      if (orBase !== null) {
        const f = finding(
          key,
          'orphan_labels',
          'orphan_rate',
          or,
          orBase,
          jh.orphan_rate_increase,
          `orphan labels ${pct(or)} of received vs ${pct(orBase)} over the last ${base.length} windows`,
          `${current.orphan_labels} of ${current.labels_received} labels orphaned`,
          query,
        )
        if (f) findings.push(f)
      }
    }
  }
  return {
    findings,
    skipped,
    not_judged: notJudged,
    suppress_performance: findings.length > 0,
    suppress_reason: findings.length ? `join health: ${findings.map((f) => f.subject).join(', ')}` : null,
  }
}
