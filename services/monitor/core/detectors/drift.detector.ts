import type { Severity } from '../../../shared/events/types.ts'
import type { CategoricalReference, NumericReference, ReferenceProfile } from '../../../shared/records/reference-profile.ts'
import {
  PREDICTION_CLASS,
  PREDICTION_SCORE,
  PREDICTION_VALUE,
  OVERFLOW_CATEGORY,
  type CategoricalStats,
  type FeatureWindowStats,
  type NumericStats,
  type WindowKey,
} from '../../../shared/records/window-metrics.ts'
import {
  alignCategories,
  chiSquaredTest,
  jensenShannonDistance,
  ksStatisticFromHistograms,
  meanShift,
  mixShift,
  normalQuantile,
  psi,
} from '../../../shared/stats/index.ts'
import { driftLevels, importanceOf, isIgnored, minEffectOf, type DetectorConfig, type Levels } from './detector-config.ts'
import {
  fmt,
  severityOf,
  worseSeverity,
  type DetectorInput,
  type DetectorResult,
  type EvidenceQueries,
  type Finding,
  type NotJudged,
  type Skip,
  type WindowSnapshot,
} from './finding.ts'
import { runbookHint } from '../alerts/runbooks.ts'

// Drift: per feature, effect sizes of the window's distribution against a baseline (the reference
// profile, optionally also the previous window), all from histograms on the reference bins or
// category counts, never from raw rows. One finding per window and baseline lists the drifted
// features ranked by effect x importance: a pipeline change that moves 30 features is one alert.

type LegacyMeasure = 'psi' | 'js_distance' | 'ks' | 'cramers_v' | 'unseen_rate'
export type DriftMeasure = 'mean_shift' | 'mix' | LegacyMeasure

export interface MeasureValue {
  measure: DriftMeasure
  /** The effect: bias-corrected for mean_shift and mix, the plug-in value for the older measures. */
  value: number
  /** mean_shift and mix: warning = the minimum effect, critical = critical_factor times it. */
  levels: Levels
  /** mean_shift and mix: confidence bounds of the effect (lower at the noise test's level, upper at 95 %). */
  lower?: number
  upper?: number
  /** mix: probability of a difference at least this large between the counts from noise alone. */
  p_value?: number
}

export interface FeatureDrift {
  feature: string
  categorical: boolean
  measures: MeasureValue[]
  /** Largest value / warning-level ratio over the measures that decided: >= 1 means the feature drifted. */
  effect: number
  /** The measure behind `effect`. */
  decisive: MeasureValue
  severity: Severity | null
  /** Non-null values in the window. */
  count: number
  /** The change stands out of the sampling noise at the configured false-alarm rate. */
  significant: boolean
}

/** A numeric baseline: counts on the same bins as the window's histogram, with its moments when known. */
export interface NumericBaseline {
  bin_edges: number[]
  histogram: number[]
  mean?: number | null
  std?: number | null
  count?: number
}

/** A categorical baseline: counts per category. */
export interface CategoricalBaseline {
  categories: string[]
  counts: number[]
}

/** Levels are positive (the config schema says so). */
const ratio = (value: number, warning: number): number => value / warning

/** One-sided z of the upper bound used for "may reach the minimum effect" (95 %). */
const UPPER_Z = 1.645

interface Calibrated {
  measure: 'mean_shift' | 'mix'
  estimate: number
  /** An estimate that noise can only make larger (the plug-in value), for the upper bound. */
  upward: number
  se: number
  pValue: number | null
  minEffect: number
  /** z of the lower confidence bound (at the false-alarm rate). */
  z: number
}

/**
 * A feature drifted when its change stands out of the noise (the p-value of its homogeneity test
 * below the false-alarm rate) and either some effect may reach the feature's minimum (its upper
 * confidence bound reaches it) or an older measure is past its level. Requiring the upper bound,
 * not the lower one, to reach the minimum keeps the power at the minimum effect itself growing
 * to 1 with the window, while a change demonstrably smaller than the minimum (the whole interval
 * below it, which needs a large window) does not alert. Critical once the lower bound reaches
 * critical_factor times the minimum, or an older measure its critical level.
 */
function summarize(
  config: DetectorConfig,
  feature: string,
  categorical: boolean,
  calibrated: Calibrated[],
  legacy: MeasureValue[],
  count: number,
  alpha: number,
): FeatureDrift | null {
  const measures: MeasureValue[] = []
  const significant = calibrated.some((c) => c.pValue !== null && c.pValue < alpha)
  let decisive: MeasureValue | null = null
  let decisiveRatio = -Infinity
  let severity: Severity | null = null
  const factor = config.drift.critical_factor
  for (const c of calibrated) {
    const lower = Math.max(0, c.estimate - c.z * c.se)
    const upper = c.upward + UPPER_Z * c.se
    const m: MeasureValue = {
      measure: c.measure,
      value: c.estimate,
      levels: { warning: c.minEffect, critical: c.minEffect * factor },
      lower,
      upper,
      ...(c.pValue !== null ? { p_value: c.pValue } : {}),
    }
    measures.push(m)
    const r = ratio(c.estimate, c.minEffect)
    if (significant && upper >= c.minEffect) {
      // Ranked by the estimate, but a flagged measure never ranks below the threshold.
      const rr = Math.max(1, r)
      if (rr > decisiveRatio) {
        decisive = m
        decisiveRatio = rr
      }
      const s: Severity = lower >= c.minEffect * factor ? 'critical' : 'warning'
      severity = severity ? worseSeverity(severity, s) : s
    } else if (decisiveRatio < 1 && Math.min(r, 0.99) > decisiveRatio) {
      decisive = m
      decisiveRatio = Math.min(r, 0.99)
    }
  }
  for (const m of legacy) {
    measures.push(m)
    if (!significant) continue
    const s = severityOf(m.value, m.levels)
    if (s) severity = severity ? worseSeverity(severity, s) : s
    const r = ratio(m.value, m.levels.warning)
    if (r >= 1 && r > decisiveRatio) {
      decisive = m
      decisiveRatio = r
    }
  }
  if (!measures.length) return null
  decisive ??= measures[0]!
  if (decisiveRatio === -Infinity) decisiveRatio = 0
  if (decisiveRatio < 1) severity = null
  return { feature, categorical, measures, effect: decisiveRatio, decisive, severity, count, significant }
}

const sameEdges = (a: number[], b: number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i])

/** Significance level of each of a feature's tests: the feature's false-alarm rate split over them. */
const perTest = (config: DetectorConfig, tests: number): number => config.drift.false_alarm_rate / tests

/**
 * Mean shift (in reference standard deviations) and mix (share of values moved between the
 * reference's bins) of a numeric feature, plus PSI, JS distance and KS; null when the histograms
 * cannot be compared.
 */
export function numericFeatureDrift(config: DetectorConfig, feature: string, baseline: NumericBaseline, window: NumericStats): FeatureDrift | null {
  if (!baseline.histogram.length || !sameEdges(baseline.bin_edges, window.bin_edges) || baseline.histogram.length !== window.histogram.length) return null
  const legacy: MeasureValue[] = []
  const add = (measure: LegacyMeasure, value: number | null): void => {
    if (value !== null && Number.isFinite(value)) legacy.push({ measure, value, levels: driftLevels(config, feature, measure, false) })
  }
  add('psi', psi(baseline.histogram, window.histogram))
  add('js_distance', jensenShannonDistance(baseline.histogram, window.histogram))
  add('ks', ksStatisticFromHistograms(baseline.histogram, window.histogram))
  const min = minEffectOf(config, feature)
  // One test decides whether the change stands out of the noise: the χ² on the reference bins.
  // Its counts are multinomial whatever the feature's distribution, so its false-alarm rate holds
  // for skewed and heavy-tailed values too, where a z-test on the mean fires 20 times too often
  // (lognormal, 200 values). The mean shift then only says how large the change is. A shift that
  // moves no value across a bin edge (integers moved by a fraction) is not seen.
  const alpha = perTest(config, 1)
  const z = normalQuantile(1 - alpha / 2)
  const calibrated: Calibrated[] = []
  const baseCount = baseline.count ?? baseline.histogram.reduce((a, b) => a + b, 0)
  const shift = baseline.mean != null && baseline.std != null ? meanShift({ mean: baseline.mean, std: baseline.std, count: baseCount }, window) : null
  if (shift && shift.se > 0) {
    const estimate = Math.abs(shift.estimate)
    calibrated.push({ measure: 'mean_shift', estimate, upward: estimate, se: shift.se, pValue: null, minEffect: min.mean_shift, z })
  }
  const mix = mixShift(baseline.histogram, window.histogram, { ordered: true })
  if (mix) calibrated.push({ measure: 'mix', estimate: mix.estimate, upward: mix.raw, se: mix.se, pValue: mix.pValue, minEffect: min.mix, z })
  return summarize(config, feature, false, calibrated, legacy, window.count, alpha)
}

/**
 * Mix (share of values moved between categories) of a categorical feature, plus JS distance,
 * Cramér's V and unseen-category rate. Cramér's V is taken with the baseline rescaled to the
 * window's count: with the raw baseline counts V shrinks as the baseline grows, so the same shift
 * would read smaller against a bigger training set. Null when the window kept only its most
 * frequent categories (more distinct values than max_category_values): which ones it kept
 * depends on the window's own counts, so any comparison of them with the baseline is biased.
 */
export function categoricalFeatureDrift(config: DetectorConfig, feature: string, baseline: CategoricalBaseline, window: CategoricalStats): FeatureDrift | null {
  if (window.overflow_count > 0 || window.categories.includes(OVERFLOW_CATEGORY)) return null
  const aligned = alignCategories(baseline.categories, baseline.counts, window.categories, window.counts)
  const baseTotal = aligned.reference.reduce((a, b) => a + b, 0)
  const total = aligned.current.reduce((a, b) => a + b, 0)
  if (baseTotal === 0 || total === 0) return null
  const legacy: MeasureValue[] = []
  const add = (measure: LegacyMeasure, value: number | null | undefined): void => {
    if (value != null && Number.isFinite(value)) legacy.push({ measure, value, levels: driftLevels(config, feature, measure, true) })
  }
  add('js_distance', jensenShannonDistance(aligned.reference, aligned.current))
  const scaled = aligned.reference.map((c) => (c * total) / baseTotal)
  add('cramers_v', chiSquaredTest(scaled, aligned.current)?.cramersV)
  const unseen = aligned.current.reduce((sum, c, i) => sum + (aligned.reference[i] === 0 ? c : 0), 0)
  add('unseen_rate', unseen / total)
  const alpha = perTest(config, 1)
  const mix = mixShift(aligned.reference, aligned.current, { ordered: false })
  const calibrated: Calibrated[] = mix
    ? [
        {
          measure: 'mix',
          estimate: mix.estimate,
          upward: mix.raw,
          se: mix.se,
          pValue: mix.pValue,
          minEffect: minEffectOf(config, feature).mix,
          z: normalQuantile(1 - alpha / 2),
        },
      ]
    : []
  return summarize(config, feature, true, calibrated, legacy, total, alpha)
}

interface Pair {
  feature: string
  numeric: { baseline: NumericBaseline; window: NumericStats } | null
  categorical: { baseline: CategoricalBaseline; window: CategoricalStats } | null
}

/** Measures every pair with enough values; reports the ones it could not judge. */
export function measureDrift(config: DetectorConfig, pairs: Pair[]): { drifts: FeatureDrift[]; skipped: string[] } {
  const drifts: FeatureDrift[] = []
  const skipped: string[] = []
  for (const p of pairs) {
    if (isIgnored(config, p.feature)) continue
    const count = p.numeric?.window.count ?? p.categorical?.window.count ?? 0
    if (count < config.min_volume) {
      skipped.push(`${p.feature} (${count} values < min_volume ${config.min_volume})`)
      continue
    }
    const drift = p.numeric
      ? numericFeatureDrift(config, p.feature, p.numeric.baseline, p.numeric.window)
      : p.categorical
        ? categoricalFeatureDrift(config, p.feature, p.categorical.baseline, p.categorical.window)
        : null
    if (drift) drifts.push(drift)
    else if (p.categorical && (p.categorical.window.overflow_count > 0 || p.categorical.window.categories.includes(OVERFLOW_CATEGORY)))
      skipped.push(`${p.feature} (more distinct values than max_category_values)`)
    else skipped.push(`${p.feature} (bins or categories not comparable with the baseline)`)
  }
  return { drifts, skipped }
}

const isNumericRef = (r: NumericReference | CategoricalReference): r is NumericReference => 'bin_edges' in r

/** Window features paired with the reference profile (input features or prediction pseudo-features). */
export function referencePairs(reference: ReferenceProfile, window: FeatureWindowStats[], prediction: boolean): Pair[] {
  const pairs: Pair[] = []
  for (const stats of window) {
    const isPrediction = stats.feature === PREDICTION_SCORE || stats.feature === PREDICTION_CLASS || stats.feature === PREDICTION_VALUE
    if (isPrediction !== prediction) continue
    const ref = prediction ? reference.prediction[stats.feature] : (reference.numeric[stats.feature] ?? reference.categorical[stats.feature])
    if (!ref) continue
    if (stats.numeric && isNumericRef(ref)) pairs.push({ feature: stats.feature, numeric: { baseline: ref, window: stats.numeric }, categorical: null })
    else if (stats.categorical && !isNumericRef(ref))
      pairs.push({ feature: stats.feature, numeric: null, categorical: { baseline: ref, window: stats.categorical } })
  }
  return pairs
}

/** Window features paired with the same features of an earlier window. */
function trailingPairs(previous: FeatureWindowStats[], window: FeatureWindowStats[], prediction: boolean): Pair[] {
  const before = new Map(previous.map((s) => [s.feature, s]))
  const pairs: Pair[] = []
  for (const stats of window) {
    const isPrediction = stats.feature === PREDICTION_SCORE || stats.feature === PREDICTION_CLASS || stats.feature === PREDICTION_VALUE
    if (isPrediction !== prediction) continue
    const prev = before.get(stats.feature)
    if (stats.numeric && prev?.numeric && prev.numeric.count > 0)
      pairs.push({ feature: stats.feature, numeric: { baseline: prev.numeric, window: stats.numeric }, categorical: null })
    else if (stats.categorical && prev?.categorical && prev.categorical.count > 0)
      pairs.push({
        feature: stats.feature,
        numeric: null,
        categorical: { baseline: { categories: prev.categorical.categories, counts: prev.categorical.counts }, window: stats.categorical },
      })
  }
  return pairs
}

export interface RankedDrift extends FeatureDrift {
  /** effect x importance: the ranking key. */
  score: number
}

/** Drifted features (effect >= 1) ranked by effect x importance, ties by name. */
export function rankDrifted(config: DetectorConfig, drifts: FeatureDrift[]): RankedDrift[] {
  return drifts
    .filter((d) => d.effect >= 1)
    .map((d) => ({ ...d, score: d.effect * importanceOf(config, d.feature) }))
    .sort((a, b) => b.score - a.score || (a.feature < b.feature ? -1 : a.feature > b.feature ? 1 : 0))
}

export function describeDrift(d: FeatureDrift): string {
  const parts = d.measures.map((m) => {
    const bounds = m.lower !== undefined && m.upper !== undefined ? ` [${fmt(m.lower)}, ${fmt(m.upper)}]` : ''
    const level =
      m === d.decisive
        ? m.measure === 'mean_shift' || m.measure === 'mix'
          ? ` (minimum ${fmt(m.levels.warning)})`
          : ` (warning ${fmt(m.levels.warning)})`
        : ''
    return `${m.measure} ${fmt(m.value)}${bounds}${level}`
  })
  return `${parts.join(', ')}; ${d.count} values`
}

const DRIFT_COLUMNS = ['count', 'nulls', 'mean', 'std', 'bin_edges', 'histogram', 'categories', 'category_counts', 'unseen']

function driftFinding(
  evidence: EvidenceQueries,
  key: WindowKey,
  config: DetectorConfig,
  prediction: boolean,
  baselineName: 'reference' | 'previous window',
  evaluated: number,
  ranked: RankedDrift[],
): Finding {
  const top = ranked[0]!
  const listed = ranked.slice(0, config.drift.max_evidence)
  const kind = prediction ? 'prediction_drift' : 'drift'
  const subject = (prediction ? 'prediction' : 'features') + (baselineName === 'reference' ? '' : '_vs_previous')
  const severity = ranked.reduce<Severity>((s, d) => worseSeverity(s, d.severity ?? 'warning'), 'warning')
  const names = listed.map((d) => `${d.feature} (${d.decisive.measure} ${fmt(d.decisive.value)})`).join(', ')
  const what = prediction ? 'prediction drift' : `drift in ${ranked.length} of ${evaluated} features`
  return {
    key,
    kind,
    subject,
    severity,
    measure: top.decisive.measure,
    observed: top.decisive.value,
    expected: 0,
    threshold: top.decisive.levels.warning,
    evidence: listed.map((d) => ({ name: d.feature, score: d.score, detail: describeDrift(d) })),
    label_coverage: null,
    estimated: false,
    summary: `${what} vs ${baselineName}: ${names}${ranked.length > listed.length ? `, +${ranked.length - listed.length} more` : ''}`,
    runbook: runbookHint(kind, subject),
    evidence_query: evidence.featureStats(
      key,
      listed.map((d) => d.feature),
      DRIFT_COLUMNS,
      24,
    ),
  }
}

function previousWindow(input: DetectorInput): WindowSnapshot | null {
  const key = input.current.summary.key
  const prev = input.history[input.history.length - 1]
  if (!prev) return null
  const k = prev.summary.key
  return k.window_start === key.window_start - key.window_size_ms && k.model_version === key.model_version ? prev : null
}

/**
 * Feature drift ('drift', subject 'features') and prediction drift ('prediction_drift', subject
 * 'prediction'), against the reference and, with compare_trailing, against the previous window
 * (subjects with '_vs_previous'). A subject that cannot be judged in the window (volume below
 * min_volume, no baseline, no comparable feature) is reported in not_judged.
 */
export function detectDrift(input: DetectorInput): DetectorResult {
  const { config, current } = input
  const key = current.summary.key
  const findings: Finding[] = []
  const skipped: Skip[] = []
  const notJudged: NotJudged[] = []
  if (!config.drift.enabled) return { findings, skipped }
  const unjudged = (baseline: 'reference' | 'previous window', reason: string): void => {
    const suffix = baseline === 'reference' ? '' : '_vs_previous'
    notJudged.push({ kind: 'drift', subject: `features${suffix}`, reason }, { kind: 'prediction_drift', subject: `prediction${suffix}`, reason })
  }
  if (current.summary.volume < config.min_volume) {
    const reason = `window volume ${current.summary.volume} < min_volume ${config.min_volume}`
    skipped.push({ detector: 'drift', subject: 'features', reason })
    unjudged('reference', reason)
    if (config.drift.compare_trailing) unjudged('previous window', reason)
    return { findings, skipped, not_judged: notJudged }
  }
  const baselines: { name: 'reference' | 'previous window'; pairs: (prediction: boolean) => Pair[] }[] = []
  if (input.reference) baselines.push({ name: 'reference', pairs: (p) => referencePairs(input.reference!, current.features, p) })
  else {
    skipped.push({ detector: 'drift', subject: 'features', reason: 'no reference profile' })
    unjudged('reference', 'no reference profile')
  }
  if (config.drift.compare_trailing) {
    const prev = previousWindow(input)
    if (prev) baselines.push({ name: 'previous window', pairs: (p) => trailingPairs(prev.features, current.features, p) })
    else {
      skipped.push({ detector: 'drift', subject: 'features_vs_previous', reason: 'previous window of this version is not in the history' })
      unjudged('previous window', 'previous window of this version is not in the history')
    }
  }
  for (const baseline of baselines) {
    for (const prediction of [false, true]) {
      const { drifts, skipped: notMeasured } = measureDrift(config, baseline.pairs(prediction))
      const subject = (prediction ? 'prediction' : 'features') + (baseline.name === 'reference' ? '' : '_vs_previous')
      if (notMeasured.length) skipped.push({ detector: 'drift', subject, reason: `not judged: ${notMeasured.join(', ')}` })
      if (drifts.length === 0)
        notJudged.push({
          kind: prediction ? 'prediction_drift' : 'drift',
          subject,
          reason: notMeasured.length ? `not judged: ${notMeasured.join(', ')}` : `no feature comparable with the ${baseline.name}`,
        })
      const ranked = rankDrifted(config, drifts)
      if (ranked.length) findings.push(driftFinding(input.evidence, key, config, prediction, baseline.name, drifts.length, ranked))
    }
  }
  return { findings, skipped, not_judged: notJudged }
}
