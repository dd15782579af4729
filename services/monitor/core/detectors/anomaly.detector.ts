import type { Severity } from '../../../shared/events/types.ts'
import { PREDICTION_SCORE, PREDICTION_VALUE, type FeatureWindowStats, type WindowKey } from '../../../shared/records/window-metrics.ts'
import { normalQuantile, studentTQuantileUpper } from '../../../shared/stats/index.ts'
import { DEFAULT_ANOMALY_DIRECTION, performanceMetricFor, type AnomalyDirection, type AnomalySeries, type DetectorConfig } from './detector-config.ts'
import { fmt, pct, worseSeverity, type DetectorInput, type DetectorResult, type Finding, type NotJudged, type Skip, type WindowSnapshot } from './finding.ts'
import { immatureReason } from './performance.detector.ts'
import { runbookHint } from '../alerts/runbooks.ts'

// Anomalies of metric series (volume, null rate per feature, prediction mean, performance)
// against a seasonal baseline: the values at the same phase of the seasonal period (same
// hour-of-week), or of the fallback period (same hour-of-day) while the history holds too few
// weeks. With three or four such samples a robust z is mostly noise (|z| >= 4 one time in ten),
// so the spread is the sampling noise expected at the windows' volume (Poisson counts, binomial
// rates) plus whatever excess the samples show over it, and the critical value is Student's t for
// the degrees of freedom of that excess (normal when there is none): a flat history does not make
// a sampling wobble an incident, and a noisy one needs a larger change. Baseline samples that were themselves anomalous are left
// out, so an ongoing spike does not become its own baseline (until every sample at the phase is
// one: then it is the new level). A change must also pass a minimum (relative, or absolute for
// rates), and only a change for the worse alerts on series whose direction is 'worse'.

export interface SeriesPoint {
  time: number
  value: number
  /** Variance of the value from sampling alone at the given level (0 when unknown). */
  noise: (level: number) => number
}

export interface Baseline {
  median: number
  /** Variance of one window's value: sampling noise plus the excess the samples show. */
  variance: number
  /** Degrees of freedom of that variance. */
  dof: number
  samples: number
  periodMs: number
}

/** Pseudo-degrees of freedom of the sampling-noise prior on the variance of a series. */
const PRIOR_DOF = 4

/**
 * Median, and variance of one window's value: the noise expected at the windows' volume plus the
 * excess the samples show over it (their variance pooled with the noise as a prior of PRIOR_DOF
 * degrees of freedom, less the noise). Only the excess is estimated, so the degrees of freedom
 * grow as its share of the variance shrinks (a Satterthwaite-style approximation, the excess
 * taken as known to pooledDof degrees of freedom): none of it (the samples vary no more than
 * sampling noise) gives the normal critical value, a series far noisier than its volume explains
 * gets Student's t for the samples there are.
 */
function baselineOf(values: SeriesPoint[], periodMs: number): Baseline {
  const sorted = values.map((p) => p.value).sort((a, b) => a - b)
  const k = sorted.length
  const mid = Math.floor(k / 2)
  const center = k % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  const mean = sorted.reduce((a, b) => a + b, 0) / k
  const sampleVar = k > 1 ? sorted.reduce((s, v) => s + (v - mean) ** 2, 0) / (k - 1) : 0
  const noise = values.reduce((s, p) => s + p.noise(center), 0) / k
  const pooledDof = PRIOR_DOF + k - 1
  const excess = Math.max(0, (PRIOR_DOF * noise + (k - 1) * sampleVar) / pooledDof - noise)
  const variance = noise + excess
  const dof = excess > 0 ? Math.min(MAX_DOF, (variance * variance * pooledDof) / (excess * excess)) : MAX_DOF
  return { median: center, variance, dof, samples: k, periodMs }
}

/** Degrees of freedom from which the normal critical value is used. */
const MAX_DOF = 1e4

/** A series' points by phase slot of each period, oldest first: same-phase lookups in O(samples). */
export class PhaseIndex {
  private readonly bySlot = new Map<number, Map<number, SeriesPoint[]>>()

  constructor(
    readonly points: SeriesPoint[],
    periods: number[],
  ) {
    const ordered = points.filter((p) => Number.isFinite(p.value) && Number.isFinite(p.time)).sort((x, y) => x.time - y.time)
    for (const periodMs of periods) {
      const slots = new Map<number, SeriesPoint[]>()
      for (const p of ordered) {
        const slot = slotOf(p.time, periodMs)
        const list = slots.get(slot)
        if (list) list.push(p)
        else slots.set(slot, [p])
      }
      this.bySlot.set(periodMs, slots)
    }
  }

  /** Points at the phase of `at` in the `periods` periods before it. */
  samePhase(at: number, periodMs: number, periods: number): SeriesPoint[] {
    const list = this.bySlot.get(periodMs)?.get(slotOf(at, periodMs)) ?? []
    return list.filter((p) => p.time < at && p.time >= at - periods * periodMs)
  }
}

const HOUR_MS = 3_600_000
const slotOf = (t: number, periodMs: number): number => Math.floor((((t % periodMs) + periodMs) % periodMs) / Math.min(HOUR_MS, periodMs))
/** Whether two times at the same slot of the seasonal period are always at the same slot of the
 *  fallback period (a week and a day: the same hour of week is the same hour of day). */
const nested = (seasonal: number, fallback: number): boolean => seasonal % fallback === 0 && (fallback <= HOUR_MS || fallback % HOUR_MS === 0)

/**
 * The seasonal baseline at `at` over the last `history_periods` periods from `clean` points
 * (earlier points not judged anomalous), the main period first, the fallback when it has too few
 * samples at the same phase. When too few clean samples remain but enough samples do, the change
 * has lasted for every sample at the phase: it is the level now, and all of them are used.
 */
export function baselineAt(config: DetectorConfig, history: SeriesPoint[] | PhaseIndex, at: number, clean: Set<SeriesPoint> | null = null): Baseline | null {
  const a = config.anomaly
  const index = history instanceof PhaseIndex ? history : new PhaseIndex(history, [a.seasonal_period, a.fallback_period])
  for (const periodMs of [a.seasonal_period, a.fallback_period]) {
    const samePhase = index.samePhase(at, periodMs, a.history_periods)
    if (samePhase.length < a.min_history_samples) continue
    const kept = clean ? samePhase.filter((p) => clean.has(p)) : samePhase
    return baselineOf(kept.length >= a.min_history_samples ? kept : samePhase, periodMs)
  }
  return null
}

const Z_CAP = 1e6

export interface SeriesJudgement {
  value: number
  baseline: Baseline
  /** (value − baseline median) / √(variance of that difference): a t statistic. */
  z: number
  change: number
  /** The value beyond which this direction of change alerts. */
  boundary: number
  severity: Severity
}

/** +1 when a larger value is worse, −1 when a smaller one is, 0 when both directions may alert. */
export type Worse = 1 | -1 | 0

/**
 * Judges one value against its baseline; `rate` series need an absolute change, others a
 * relative one. `noise` is the value's own sampling variance at the baseline's level (its
 * window may be smaller than the baseline's).
 */
export function judgeValue(config: DetectorConfig, value: number, baseline: Baseline, rate: boolean, noise = 0, worse: Worse = 0): SeriesJudgement | null {
  const a = config.anomaly
  const change = value - baseline.median
  if (change === 0) return null
  if (worse !== 0 && Math.sign(change) !== worse) return null
  // The median of k samples varies about π / (2k) times one sample's variance.
  const variance = Math.max(baseline.variance, noise) + ((Math.PI / 2) * baseline.variance) / baseline.samples
  const raw = variance > 0 ? change / Math.sqrt(variance) : Math.sign(change) * Z_CAP
  const z = Math.max(-Z_CAP, Math.min(Z_CAP, raw))
  const relative = baseline.median !== 0 ? Math.abs(change) / Math.abs(baseline.median) : Number.POSITIVE_INFINITY
  if (rate ? Math.abs(change) < a.min_rate_change : relative < a.min_relative_change) return null
  const critical = baseline.dof >= MAX_DOF ? normalQuantile(1 - a.false_alarm_rate / 2) : studentTQuantileUpper(a.false_alarm_rate / 2, baseline.dof)
  if (Math.abs(z) < critical) return null
  const severity: Severity = Math.abs(z) >= (critical * a.z.critical) / a.z.warning ? 'critical' : 'warning'
  const minChange = rate ? a.min_rate_change : a.min_relative_change * Math.abs(baseline.median)
  const boundary = baseline.median + Math.sign(change) * Math.max(critical * Math.sqrt(variance), minChange)
  return { value, baseline, z, change, boundary, severity }
}

/**
 * The points of a series that were not anomalous themselves, judged oldest first against the
 * clean points before them (the first ones, without a baseline yet, count as clean).
 */
export function cleanPoints(config: DetectorConfig, history: PhaseIndex, rate: boolean, worse: Worse): Set<SeriesPoint> {
  const clean = new Set<SeriesPoint>()
  const ordered = [...history.points].sort((x, y) => x.time - y.time)
  for (const p of ordered) {
    const b = baselineAt(config, history, p.time, clean)
    if (!b || !judgeValue(config, p.value, b, rate, p.noise(b.median), worse)) clean.add(p)
  }
  return clean
}

function describe(j: SeriesJudgement, rate: boolean): string {
  const shown = rate ? pct : fmt
  const rel = j.baseline.median !== 0 ? ` (${j.change > 0 ? '+' : ''}${pct(j.change / Math.abs(j.baseline.median))})` : ''
  const period = j.baseline.periodMs >= 604_800_000 ? 'hour-of-week' : 'hour-of-day'
  return `${shown(j.value)} vs ${shown(j.baseline.median)}${rel}, t ${fmt(j.z)} (${j.baseline.dof >= 1e4 ? 'normal' : `${fmt(j.baseline.dof)} dof`}), ${period} median of ${j.baseline.samples}`
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
    measure: 'seasonal_t',
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
/** Sampling variance of a window's value at a level of the series (0 when unknown). */
type Noise = (w: WindowSnapshot, level: number) => number

/**
 * The points of a series before `at` that its baseline at `at` can depend on. The baseline takes
 * the points at the phase of `at` in either period, and whether each of those was clean depends
 * on the points at its own phase, and so on: when the fallback period divides the seasonal one,
 * all of them are at the fallback phase of `at` (the same hour of day for hourly windows), and
 * the others are left out unread.
 */
function points(config: DetectorConfig, history: WindowSnapshot[], at: number, extract: Extract, noise: Noise): SeriesPoint[] {
  const { seasonal_period: seasonal, fallback_period: fallback } = config.anomaly
  const phase = nested(seasonal, fallback) ? slotOf(at, fallback) : null
  const out: SeriesPoint[] = []
  for (const w of history) {
    const time = w.summary.key.window_start
    if (time >= at || (phase !== null && slotOf(time, fallback) !== phase)) continue
    const value = extract(w)
    if (value !== null && Number.isFinite(value)) out.push({ time, value, noise: (level) => noise(w, level) })
  }
  return out
}

// A window's feature statistics by name, built once per snapshot: a series reads each window's
// statistics for every point and again for every baseline sample's noise.
const featuresByName = new WeakMap<WindowSnapshot, Map<string, FeatureWindowStats>>()
const featureOf = (w: WindowSnapshot, feature: string): FeatureWindowStats | undefined => {
  let byName = featuresByName.get(w)
  if (!byName) {
    byName = new Map(w.features.map((f) => [f.feature, f]))
    featuresByName.set(w, byName)
  }
  return byName.get(feature)
}

const featureShape = (w: WindowSnapshot, feature: string) => {
  const s = featureOf(w, feature)
  return s?.numeric ?? s?.categorical ?? null
}

const nullRate =
  (feature: string): Extract =>
  (w) => {
    const shape = featureShape(w, feature)
    return shape && shape.count + shape.nulls > 0 ? shape.nulls / (shape.count + shape.nulls) : null
  }

/** Binomial variance of a share at `level` out of n, the level kept half an event off 0 and 1. */
const binomial = (level: number, n: number): number => {
  if (!(n > 0)) return 0
  const p = Math.min(1 - 0.5 / n, Math.max(0.5 / n, level))
  return (p * (1 - p)) / n
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
  const judge = (subject: string, extract: Extract, rate: boolean, noise: Noise, worse: Worse): SeriesJudgement | null => {
    const value = extract(current)
    if (value === null || !Number.isFinite(value)) {
      unjudged.set(subject, 'no value in this window')
      return null
    }
    const series = new PhaseIndex(points(config, history, at, extract, noise), [a.seasonal_period, a.fallback_period])
    const baseline = baselineAt(config, series, at, cleanPoints(config, series, rate, worse))
    if (!baseline) {
      const reason = `fewer than ${a.min_history_samples} earlier windows at the same hour-of-week or hour-of-day`
      skipped.push({ detector: 'anomaly', subject, reason })
      unjudged.set(subject, reason)
      return null
    }
    return judgeValue(config, value, baseline, rate, noise(current, baseline.median), worse)
  }
  const direction = (s: AnomalySeries): AnomalyDirection => a.direction[s] ?? DEFAULT_ANOMALY_DIRECTION[s]
  /** The alert subject was not judged when none of its series was. */
  const reportUnjudged = (subject: string, series: string[]): void => {
    const reasons = series.map((s) => unjudged.get(s))
    if (reasons.length > 0 && reasons.every((r) => r !== undefined)) notJudged.push({ kind: 'anomaly', subject, reason: reasons[0]! })
  }
  const wanted = (s: AnomalySeries): boolean => a.series.includes(s)

  if (wanted('volume')) {
    // Poisson counts; 'worse' is a drop (lost traffic).
    const j = judge(
      'volume',
      (w) => w.summary.volume,
      false,
      (_w, level) => Math.max(level, 1),
      direction('volume') === 'worse' ? -1 : 0,
    )
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
      const noise: Noise = (w, level) => {
        const shape = featureShape(w, feature)
        return shape ? binomial(level, shape.count + shape.nulls) : 0
      }
      const j = judge(`null_rate:${feature}`, nullRate(feature), true, noise, direction('null_rate') === 'worse' ? 1 : 0)
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
    const extract: Extract = (w) => featureOf(w, feature)?.numeric?.mean ?? null
    const noise: Noise = (w) => {
      const n = featureOf(w, feature)?.numeric
      return n && n.count > 0 && n.std !== null ? n.std ** 2 / n.count : 0
    }
    const j = judge('prediction_mean', extract, false, noise, 0)
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
    const error = metric === 'mae' || metric === 'rmse'
    // A share's binomial noise over the labeled predictions (roc_auc and f1 treated alike, roughly);
    // errors have no floor: their spread comes from the samples alone.
    const noise: Noise = (w, level) => (error ? 0 : binomial(level, w.summary.labeled_count))
    const j = judge(`performance:${metric}`, extract, !error, noise, direction('performance') === 'worse' ? (error ? 1 : -1) : 0)
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
