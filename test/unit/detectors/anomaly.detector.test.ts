import { describe, expect, it } from 'vitest'
import {
  PhaseIndex,
  baselineAt,
  cleanPoints,
  detectAnomalies,
  judgeValue,
  type SeriesPoint,
} from '../../../services/monitor/core/detectors/anomaly.detector.ts'
import type { WindowSnapshot } from '../../../services/monitor/core/detectors/finding.ts'
import { DAY, HOUR, T0, WEEK, detectorConfig, featureRow, gaussian, input, modelConfig, numericStats, prng, summary, windowKey } from './synthetic.ts'

const model = modelConfig({ features: { numeric: ['x1'], categorical: [] } })

/** Hourly volume with a daily cycle (night trough, day peak) and Poisson-like noise. */
function expectedVolume(start: number): number {
  const hour = (start % DAY) / HOUR
  return 1000 + 600 * Math.sin((2 * Math.PI * (hour - 6)) / 24)
}

function volumeWindow(rand: () => number, start: number, factor = 1): WindowSnapshot {
  const mu = expectedVolume(start) * factor
  return { summary: summary(windowKey(start), { volume: Math.max(0, Math.round(gaussian(rand, mu, Math.sqrt(mu)))) }), features: [] }
}

function history(seed: number, from: number, hours: number): WindowSnapshot[] {
  const rand = prng(seed)
  return Array.from({ length: hours }, (_, h) => volumeWindow(rand, from + h * HOUR))
}

const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

describe('anomaly detector', () => {
  const config = detectorConfig({ anomaly: { series: ['volume'] } })
  const past = history(1, T0, 3 * 7 * 24)
  const next = T0 + 3 * WEEK

  it('a daily cycle in volume with 3 weeks of hourly history gives no anomaly in any hour of the next two days', () => {
    const rand = prng(2)
    const windows: WindowSnapshot[] = [...past]
    for (let h = 0; h < 48; h++) {
      const current = volumeWindow(rand, next + h * HOUR)
      const result = detectAnomalies(input(model, config, null, current, windows))
      expect(result.findings).toEqual([])
      expect(result.skipped).toEqual([])
      windows.push(current)
    }
  })

  it('a 70% volume drop is an anomaly, against the same hour-of-week median', () => {
    const at = next + 14 * HOUR
    const current = volumeWindow(prng(3), at, 0.3)
    const { findings } = detectAnomalies(input(model, config, null, current, past))
    expect(findings).toHaveLength(1)
    const f = findings[0]!
    expect([f.kind, f.subject, f.severity]).toEqual(['anomaly', 'volume', 'critical'])
    const sameHourOfWeek = past.filter((w) => (at - w.summary.key.window_start) % WEEK === 0).map((w) => w.summary.volume)
    expect(sameHourOfWeek).toHaveLength(3)
    expect(f.expected).toBe(median(sameHourOfWeek))
    expect(f.observed).toBe(current.summary.volume)
    expect(f.summary).toMatch(/volume drop/)
    expect(f.evidence_query).toContain('FROM driftgate.window_summary FINAL')
  })

  it('with less than a week of history it falls back to the same hour of day over the last 4 days', () => {
    const short = history(4, T0, 5 * 24)
    const at = T0 + 5 * DAY + 9 * HOUR
    const normal = detectAnomalies(input(model, config, null, volumeWindow(prng(5), at), short))
    expect(normal.findings).toEqual([])
    const dropped = volumeWindow(prng(5), at, 0.3)
    const { findings } = detectAnomalies(input(model, config, null, dropped, short))
    expect(findings).toHaveLength(1)
    const sameHour = short
      .filter((w) => (at - w.summary.key.window_start) % DAY === 0 && at - w.summary.key.window_start <= 4 * DAY)
      .map((w) => w.summary.volume)
    expect(sameHour).toHaveLength(4)
    expect(findings[0]!.expected).toBe(median(sameHour))
    expect(findings[0]!.evidence[0]!.detail).toContain('hour-of-day')
  })

  it('a small change never pages, even against a flat history', () => {
    const flat = Array.from({ length: 24 * 21 }, (_, h) => ({ summary: summary(windowKey(T0 + h * HOUR), { volume: 1000 }), features: [] }))
    const wobble = { summary: summary(windowKey(next), { volume: 1030 }), features: [] }
    expect(detectAnomalies(input(model, config, null, wobble, flat)).findings).toEqual([])
    const surge = { summary: summary(windowKey(next), { volume: 2500 }), features: [] }
    const { findings } = detectAnomalies(input(model, config, null, surge, flat))
    expect(findings.map((f) => f.summary)).toEqual([expect.stringMatching(/volume surge/)])
    expect(JSON.parse(JSON.stringify(findings))).toEqual(findings)
  })

  it('too little history is reported as skipped, not as an anomaly', () => {
    const result = detectAnomalies(input(model, config, null, volumeWindow(prng(6), T0 + 2 * HOUR, 0.3), history(7, T0, 2)))
    expect(result.findings).toEqual([])
    expect(result.skipped.map((s) => s.subject)).toEqual(['volume'])
    expect(result.not_judged).toEqual([{ kind: 'anomaly', subject: 'volume', reason: 'fewer than 3 earlier windows at the same hour-of-week or hour-of-day' }])
  })

  it('a null-rate jump of a feature is an anomaly listing that feature', () => {
    const cfg = detectorConfig({ anomaly: { series: ['null_rate'] } })
    const rand = prng(8)
    const snap = (start: number, nullShare: number): WindowSnapshot => {
      const key = windowKey(start)
      const values = Array.from({ length: 1000 }, () => (rand() < nullShare ? null : gaussian(rand)))
      return { summary: summary(key, { volume: 1000 }), features: [featureRow(key, 'x1', numericStats(values, [-1, 0, 1]))] }
    }
    const hist = Array.from({ length: 24 * 14 }, (_, h) => snap(T0 + h * HOUR, 0.02))
    expect(detectAnomalies(input(model, cfg, null, snap(T0 + 2 * WEEK, 0.02), hist)).findings).toEqual([])
    const { findings } = detectAnomalies(input(model, cfg, null, snap(T0 + 2 * WEEK, 0.4), hist))
    expect(findings.map((f) => [f.subject, f.evidence.map((e) => e.name)])).toEqual([['null_rate', ['x1']]])
  })

  it('judges each window as the whole history would: the windows at other hours of day change nothing', () => {
    // Five weeks of hourly windows with 3% spikes and drops; every window judged by the detector
    // (which reads only the windows at its hour of day) and by the exported steps over every
    // earlier window of the series.
    const rand = prng(7)
    const windows = Array.from({ length: 5 * 7 * 24 }, (_, h) => {
      const r = rand()
      return volumeWindow(rand, T0 + h * HOUR, r < 0.015 ? 3 : r < 0.03 ? 0.2 : 1)
    })
    let alerts = 0
    for (const [i, current] of windows.entries()) {
      const earlier = windows.slice(0, i)
      const found = detectAnomalies(input(model, config, null, current, earlier)).findings.find((f) => f.subject === 'volume')
      const points: SeriesPoint[] = earlier.map((w) => ({ time: w.summary.key.window_start, value: w.summary.volume, noise: (level) => Math.max(level, 1) }))
      const index = new PhaseIndex(points, [config.anomaly.seasonal_period, config.anomaly.fallback_period])
      const at = current.summary.key.window_start
      const baseline = baselineAt(config, index, at, cleanPoints(config, index, false, 0))
      const expected = baseline && judgeValue(config, current.summary.volume, baseline, false, Math.max(baseline.median, 1), 0)
      expect([found?.expected, found?.threshold]).toEqual(expected ? [expected.baseline.median, expected.boundary] : [undefined, undefined])
      if (found) alerts++
    }
    expect(alerts).toBeGreaterThan(10)
  })
})
