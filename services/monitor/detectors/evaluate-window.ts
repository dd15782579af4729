import { ALL_SEGMENTS } from '../../shared/model/window-metrics.ts'
import { detectAnomalies } from './anomaly.detector.ts'
import { detectDataQuality } from './data-quality.detector.ts'
import { detectDrift } from './drift.detector.ts'
import type { DetectorInput, Finding, Skip } from './finding.ts'
import { detectJoinHealth } from './join-health.detector.ts'
import { detectPerformance } from './performance.detector.ts'

// All detectors on one window, with the join-health decision applied: when labels are not
// joining properly, the window's label-based findings (measured performance and performance
// anomalies) are dropped and returned apart, with the reason, for the caller to log.

export interface WindowEvaluationResult {
  findings: Finding[]
  skipped: Skip[]
  /** Label-based findings dropped because of a join-health finding in the same window. */
  suppressed: { findings: Finding[]; reason: string } | null
}

const labelBased = (f: Finding): boolean => f.kind === 'performance' || (f.kind === 'anomaly' && f.subject.startsWith('performance:'))

export function evaluateWindow(input: DetectorInput): WindowEvaluationResult {
  const key = input.current.summary.key
  const results = [detectDrift(input), detectDataQuality(input), detectPerformance(input), detectAnomalies(input)]
  const join = detectJoinHealth(input.config, key, input.join_health, input.join_history)
  let findings = results.flatMap((r) => r.findings)
  const skipped = [...results.flatMap((r) => r.skipped), ...join.skipped]
  let suppressed: WindowEvaluationResult['suppressed'] = null
  if (join.suppress_performance) {
    const dropped = findings.filter(labelBased)
    findings = findings.filter((f) => !labelBased(f))
    suppressed = { findings: dropped, reason: join.suppress_reason ?? 'join health' }
  }
  // Join counters are per model, not per segment: their findings go with the rollup segment only.
  if (key.segment === ALL_SEGMENTS) findings.push(...join.findings)
  return { findings, skipped, suppressed }
}
