import { ALL_SEGMENTS } from '../../../shared/records/window-metrics.ts'
import { detectAnomalies } from './anomaly.detector.ts'
import { detectDataQuality } from './data-quality.detector.ts'
import { performanceMetricFor } from './detector-config.ts'
import { detectDrift } from './drift.detector.ts'
import type { DetectorInput, Finding, NotJudged, Skip } from './finding.ts'
import { detectJoinHealth } from './join-health.detector.ts'
import { detectPerformance } from './performance.detector.ts'

// All detectors on one window, with the join-health decision applied: when labels are not
// joining properly, the window's label-based findings (measured performance and performance
// anomalies) are dropped and returned apart, with the reason, for the caller to log; those
// label-based checks then count as not judged in this window.

export interface WindowEvaluationResult {
  findings: Finding[]
  skipped: Skip[]
  /** Identities no detector could judge in this window (see NotJudged), one entry each. */
  not_judged: NotJudged[]
  /** Label-based findings dropped because of a join-health finding in the same window. */
  suppressed: { findings: Finding[]; reason: string } | null
}

const labelBased = (f: Pick<Finding, 'kind' | 'subject'>): boolean => f.kind === 'performance' || (f.kind === 'anomaly' && f.subject.startsWith('performance:'))

export function evaluateWindow(input: DetectorInput): WindowEvaluationResult {
  const key = input.current.summary.key
  const results = [detectDrift(input), detectDataQuality(input), detectPerformance(input), detectAnomalies(input)]
  const join = detectJoinHealth(input.evidence, input.config, key, input.join_health, input.join_history)
  let findings = results.flatMap((r) => r.findings)
  const skipped = [...results.flatMap((r) => r.skipped), ...join.skipped]
  let notJudged = results.flatMap((r) => r.not_judged ?? [])
  let suppressed: WindowEvaluationResult['suppressed'] = null
  if (join.suppress_performance) {
    const dropped = findings.filter(labelBased)
    findings = findings.filter((f) => !labelBased(f))
    const reason = join.suppress_reason ?? 'join health'
    suppressed = { findings: dropped, reason }
    // Measured performance (and its anomaly series) cannot be judged on labels that do not join.
    const metric = performanceMetricFor(input.model, input.config)
    const unjudged: NotJudged[] = [...dropped.map((f) => ({ kind: f.kind, subject: f.subject, reason })), { kind: 'performance', subject: metric, reason }]
    if (input.config.anomaly.enabled && input.config.anomaly.series.includes('performance'))
      unjudged.push({ kind: 'anomaly', subject: `performance:${metric}`, reason })
    notJudged = [...notJudged, ...unjudged]
  }
  // Join counters are per model, not per segment: their findings go with the rollup segment only.
  if (key.segment === ALL_SEGMENTS) {
    findings.push(...join.findings)
    notJudged.push(...(join.not_judged ?? []))
  }
  // One entry per identity (with the first reason given).
  const seen = new Set<string>()
  notJudged = notJudged.filter((n) => {
    const k = JSON.stringify([n.kind, n.subject])
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
  return { findings, skipped, not_judged: notJudged, suppressed }
}
