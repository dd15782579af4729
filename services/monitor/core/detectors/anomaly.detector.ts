import type { Severity } from '../../../shared/events/types.ts'
import { PREDICTION_SCORE, PREDICTION_VALUE, type WindowKey } from '../../../shared/records/window-metrics.ts'
import { robustZScore, scaledMad, seasonalBaseline } from '../../../shared/stats/index.ts'
import { performanceMetricFor, type AnomalySeries, type DetectorConfig } from './detector-config.ts'
import {
  fmt,
  pct,
  severityOf,
  worseSeverity,
  type DetectorInput,
  type DetectorResult,
  type Finding,
  type NotJudged,
  type Skip,
  type WindowSnapshot,
} from './finding.ts'
import { immatureReason } from './performance.detector.ts'
import { runbookHint } from '../alerts/runbooks.ts'

// Anomalies of metric series (volume, null rate per feature, prediction mean, performance)
// against a robust seasonal baseline: the median and MAD of the values at the same phase of
// the seasonal period (same hour-of-week), or of the fallback period (same hour-of-day) while
// the history holds too few weeks. An anomaly needs both a robust z beyond the threshold and a
// minimum change (relative, or absolute for rates), so a normal daily cycle or a 3 % wobble
// never pages, while a 70 % drop does.

export interface SeriesPoint {
  time: number
  value: number
}

export interface Baseline {
  median: number
  mad: number
  samples: number
  periodMs: number
}

/**
 * The seasonal baseline at `at` over the last `history_periods` periods: the main period first,
 * the fallback when it has too few samples at the same phase.
 */
export function baselineAt(config: DetectorConfig, history: SeriesPoint[], at: number): Baseline | null {
  const a = config.anomaly
  for (const periodMs of [a.seasonal_period, a.fallback_period]) {
    const recent = history.filter((p) => p.time >= at - a.history_periods * periodMs)
    const b = seasonalBaseline(recent, at, { periodMs, minSamples: a.min_history_samples })
    if (b) return { median: b.median, mad: b.mad, samples: b.samples, periodMs }
  }
  return null
}

const Z_CAP = 1e6

export interface SeriesJudgement {
  value: number
  baseline: Baseline
  z: number
  change: number
  /** The value beyond which this direction of change alerts. */
  boundary: number
  severity: Severity
}

/** Judges one value against its baseline; `rate` series need an absolute change, others a relative one. */
export function judgeValue(config: DetectorConfig, value: number, baseline: Baseline, rate: boolean): SeriesJudgement | null {
  const a = config.anomaly
  const change = value - baseline.median
  if (change === 0) return null
  // A flat history (MAD 0) gives no finite z: any change passing the minimum-change rule is then
  // far outside it; Z_CAP keeps findings plain JSON.
  const raw = robustZScore(value, baseline.median, baseline.mad)
  const z = raw === null || !Number.isFinite(raw) ? Math.sign(change) * Z_CAP : Math.max(-Z_CAP, Math.min(Z_CAP, raw))
  const relative = baseline.median !== 0 ? Math.abs(change) / Math.abs(baseline.median) : Number.POSITIVE_INFINITY
  if (rate ? Math.abs(change) < a.min_rate_change : relative < a.min_relative_change) return null
  const severity = severityOf(Math.abs(z), a.z)
  if (!severity) return null
  const spread = a.z.warning * scaledMad(baseline.mad)
  const minChange = rate ? a.min_rate_change : a.min_relative_change * Math.abs(baseline.median)
  const boundary = baseline.median + Math.sign(change) * Math.max(spread, minChange)
  return { value, baseline, z, change, boundary, severity }
}

function describe(j: SeriesJudgement, rate: boolean): string {
  const shown = rate ? pct : fmt
  const rel = j.baseline.median !== 0 ? ` (${j.change > 0 ? '+' : ''}${pct(j.change / Math.abs(j.baseline.median))})` : ''
  const period = j.baseline.periodMs >= 604_800_000 ? 'hour-of-week' : 'hour-of-day'
  return `${shown(j.value)} vs ${shown(j.baseline.median)}${rel}, robust z ${fmt(j.z)}, ${period} median of ${j.baseline.samples}`
}

function seriesFinding(
  key: WindowKey,
  subject: string,
  j: SeriesJudgement,
  rate: boolean,
  summary: string,
  query: string,
  labelCoverage: number | null,
): Finding {
  return {
    key,
    kind: 'anomaly',
    subject,
    severity: j.severity,
    measure: 'robust_z',
    observed: j.value,
    expected: j.baseline.median,
    threshold: j.boundary,
    evidence: [{ name: subject, score: j.z, detail: describe(j, rate) }],
    label_coverage: labelCoverage,
    estimated: false,
    summary,
    runbook: runbookHint('anomaly', subject),
    evidence_query: query,
  }
}

type Extract = (w: WindowSnapshot) => number | null

function points(history: WindowSnapshot[], before: number, extract: Extract): SeriesPoint[] {
  const out: SeriesPoint[] = []
  for (const w of history) {
    if (w.summary.key.window_start >= before) continue
    const value = extract(w)
    if (value !== null && Number.isFinite(value)) out.push({ time: w.summary.key.window_start, value })
  }
  return out
}

const nullRate =
  (feature: string): Extract =>
  (w) => {
    const s = w.features.find((f) => f.feature === feature)
    const shape = s?.numeric ?? s?.categorical
    return shape && shape.count + shape.nulls > 0 ? shape.nulls / (shape.count + shape.nulls) : null
  }

export function detectAnomalies(input: DetectorInput): DetectorResult {
  const { config, current, history, model } = input
  const a = config.anomaly
  const findings: Finding[] = []
  const skipped: Skip[] = []
  const notJudged: NotJudged[] = []
  if (!a.enabled) return { findings, skipped }
  const key = current.summary.key
  const at = key.window_start
  const lookback = Math.ceil((3 * a.seasonal_period) / key.window_size_ms)
  // Series that could not be judged in this window (no value, or no baseline), with why.
  const unjudged = new Map<string, string>()
  const judge = (subject: string, extract: Extract, rate: boolean): SeriesJudgement | null => {
    const value = extract(current)
    if (value === null || !Number.isFinite(value)) {
      unjudged.set(subject, 'no value in this window')
      return null
    }
    const baseline = baselineAt(config, points(history, at, extract), at)
    if (!baseline) {
      const reason = `fewer than ${a.min_history_samples} earlier windows at the same hour-of-week or hour-of-day`
      skipped.push({ detector: 'anomaly', subject, reason })
      unjudged.set(subject, reason)
      return null
    }
    return judgeValue(config, value, baseline, rate)
  }
  /** The alert subject was not judged when none of its series was. */
  const reportUnjudged = (subject: string, series: string[]): void => {
    const reasons = series.map((s) => unjudged.get(s))
    if (reasons.length > 0 && reasons.every((r) => r !== undefined)) notJudged.push({ kind: 'anomaly', subject, reason: reasons[0]! })
  }
  const wanted = (s: AnomalySeries): boolean => a.series.includes(s)

  if (wanted('volume')) {
    const j = judge('volume', (w) => w.summary.volume, false)
    reportUnjudged('volume', ['volume'])
    if (j)
      findings.push(
        seriesFinding(
          key,
          'volume',
          j,
          false,
          `prediction volume ${j.change < 0 ? 'drop' : 'surge'}: ${describe(j, false)}`,
          input.evidence.summary(key, ['volume', 'late_count', 'duplicate_count'], lookback, true),
          null,
        ),
      )
  }

  if (wanted('null_rate')) {
    const judged: { feature: string; j: SeriesJudgement }[] = []
    const features = [...model.features.numeric, ...model.features.categorical]
    for (const feature of features) {
      const j = judge(`null_rate:${feature}`, nullRate(feature), true)
      if (j) judged.push({ feature, j })
    }
    reportUnjudged(
      'null_rate',
      features.map((f) => `null_rate:${f}`),
    )
    judged.sort((x, y) => Math.abs(y.j.change) - Math.abs(x.j.change) || (x.feature < y.feature ? -1 : 1))
    const top = judged[0]
    if (top) {
      const severity = judged.reduce<Severity>((s, x) => worseSeverity(s, x.j.severity), 'warning')
      const f = seriesFinding(
        key,
        'null_rate',
        { ...top.j, severity },
        true,
        `null-rate anomaly in ${judged.length} feature${judged.length > 1 ? 's' : ''}: ${judged
          .slice(0, 5)
          .map((x) => `${x.feature} ${describe(x.j, true)}`)
          .join('; ')}`,
        input.evidence.nullRate(
          key,
          judged.map((x) => x.feature),
          lookback,
        ),
        null,
      )
      f.evidence = judged.slice(0, 10).map((x) => ({ name: x.feature, score: x.j.z, detail: describe(x.j, true) }))
      findings.push(f)
    }
  }

  if (wanted('prediction_mean')) {
    const feature = model.task === 'regression' ? PREDICTION_VALUE : PREDICTION_SCORE
    const extract: Extract = (w) => w.features.find((f) => f.feature === feature)?.numeric?.mean ?? null
    const j = judge('prediction_mean', extract, false)
    reportUnjudged('prediction_mean', ['prediction_mean'])
    if (j)
      findings.push(
        seriesFinding(
          key,
          'prediction_mean',
          j,
          false,
          `mean prediction shifted: ${describe(j, false)}`,
          input.evidence.featureStats(key, [feature], ['count', 'nulls', 'mean', 'std'], lookback),
          null,
        ),
      )
  }

  if (wanted('performance')) {
    const metric = performanceMetricFor(model, config)
    const extract: Extract = (w) => {
      if (immatureReason(w.summary, config)) return null
      const c = w.summary.classification
      const r = w.summary.regression
      if (metric === 'mae' || metric === 'rmse') return r ? r[metric] : null
      return c ? c[metric] : null
    }
    const j = judge(`performance:${metric}`, extract, metric !== 'mae' && metric !== 'rmse')
    reportUnjudged(`performance:${metric}`, [`performance:${metric}`])
    if (j)
      findings.push(
        seriesFinding(
          key,
          `performance:${metric}`,
          j,
          metric !== 'mae' && metric !== 'rmse',
          `${metric} anomaly: ${describe(j, false)}`,
          input.evidence.summary(key, ['labeled_count', 'label_coverage', metric], lookback),
          current.summary.label_coverage,
        ),
      )
  }
  return { findings, skipped, not_judged: notJudged }
}
