import { describe, expect, it } from 'vitest'
import { detectAnomalies } from '../../../services/monitor/core/detectors/anomaly.detector.ts'
import { evidenceQueries } from '../../../services/monitor/store/evidence-sql.ts'
import { DAY, HOUR, WEEK, anomalyConfig, anomalyModel, anomalyWindow, runAnomalySeries } from '../../support/anomaly-calibration.ts'
import { mulberry32 } from '../../../services/shared/stats/index.ts'

// Anomalies on a seasonal series with few same-phase samples (4 weeks of hourly history): the
// false-alarm rate holds at low volume, a spike alerts for as long as it lasts without becoming
// its own baseline, and a metric getting better is not an incident. Seeds are fixed.

describe('anomaly calibration', () => {
  it('at most 0.5 % of stationary windows of ~200 predictions raise any anomaly', { timeout: 120_000 }, () => {
    const { judged } = runAnomalySeries({ seed: 11, perWindow: 200, weeks: 8 })
    expect(judged.length).toBe(4 * 7 * 24)
    const flagged = judged.filter((j) => j.findings.length > 0)
    expect(flagged.length / judged.length, JSON.stringify(flagged.map((j) => j.findings.map((f) => f.summary)))).toBeLessThanOrEqual(0.005)
  })

  it('a 3-day 5x volume spike alerts in every window it lasts, and nothing after it ends', { timeout: 120_000 }, () => {
    const from = 4 * WEEK + DAY
    const to = from + 3 * DAY
    const { judged } = runAnomalySeries({ seed: 12, perWindow: 200, weeks: 6, factor: (s) => (s >= from && s < to ? 5 : 1) })
    const during = judged.filter((j) => j.start >= from && j.start < to)
    const after = judged.filter((j) => j.start >= to)
    expect(during).toHaveLength(72)
    for (const j of during) expect(j.findings.map((f) => [f.subject, f.summary.startsWith('prediction volume surge')])).toContainEqual(['volume', true])
    expect(after.length).toBeGreaterThan(3 * 24)
    expect(after.filter((j) => j.findings.length > 0).map((j) => j.findings.map((f) => f.summary))).toEqual([])
  })

  it('accuracy getting better is not an anomaly, getting worse is; volume alerts both ways', () => {
    const rand = mulberry32(13)
    const history = Array.from({ length: 28 * 24 }, (_, h) => anomalyWindow(rand, h * HOUR, 1000))
    const at = 28 * DAY + 14 * HOUR
    const judge = (accuracy: number, volumeFactor = 1) => {
      const current = anomalyWindow(rand, at, 1000, volumeFactor)
      current.summary.classification = { ...current.summary.classification!, accuracy }
      return detectAnomalies({
        model: anomalyModel,
        evidence: evidenceQueries('driftgate'),
        config: anomalyConfig(),
        reference: null,
        current,
        history,
      }).findings.map((f) => f.subject)
    }
    expect(judge(0.99)).toEqual([])
    expect(judge(0.5)).toEqual(['performance:accuracy'])
    expect(judge(0.8, 3)).toEqual(['volume'])
    expect(judge(0.8, 0.2)).toEqual(['volume'])
    // Both directions when configured so.
    const bothWays = anomalyConfig({ anomaly: { direction: { performance: 'both' } } })
    const current = anomalyWindow(rand, at, 1000)
    current.summary.classification = { ...current.summary.classification!, accuracy: 0.99 }
    expect(
      detectAnomalies({ model: anomalyModel, evidence: evidenceQueries('driftgate'), config: bothWays, reference: null, current, history }).findings.map(
        (f) => f.subject,
      ),
    ).toEqual(['performance:accuracy'])
  })
})
