import type { Severity } from '../../../shared/events/types.ts'
import type { WindowSummary } from '../../../shared/records/window-metrics.ts'
import { confusionCount, confusionTotals, proportionDifferenceInterval, wilsonInterval } from '../../../shared/stats/index.ts'
import { performanceMetricFor, type DetectorConfig, type Levels, type PerformanceMetric } from './detector-config.ts'
import { fmt, pct, severityOf, type DetectorInput, type DetectorResult, type Finding, type NotJudged, type Skip } from './finding.ts'
import { runbookHint } from '../alerts/runbooks.ts'

// Performance against the reference, from mature windows only (label coverage and labeled count
// above the configured minimums). A finding needs the whole confidence interval of the change
// beyond the tolerance, so a drop inside the noise of a small window never alerts.
//
// Intervals, by metric:
// - accuracy: Newcombe's interval of the difference of two proportions (reference vs window)
//   when the reference gives its labeled_count, else Wilson's interval of the window's accuracy
//   against a reference taken as exact;
// - f1 (binary): F1 = TP / (TP + (FP + FN) / 2) is read as a proportion of TP among
//   n = TP + (FP + FN) / 2 and given Wilson's interval (multiclass: n = labeled count);
// - roc_auc: Hanley & McNeil's standard error from the window's positive and negative counts;
// - mae: standard error sqrt(rmse^2 - mae^2) / sqrt(n), exact for the window's errors;
// - rmse: standard error sqrt((m4 - mse^2) / n) / (2 rmse), the delta method on the mean squared
//   error with the errors' fourth moment m4 (rmse / sqrt(2n), which assumes normal errors, when
//   the window has no m4).
// Reference figures other than accuracy are taken as exact.

const BOUNDED: PerformanceMetric[] = ['accuracy', 'f1', 'roc_auc']

interface Judged {
  observed: number
  /** Interval of the window's metric. */
  low: number
  high: number
  /** Lower bound of how much worse than the reference the window is (drop, or relative error increase). */
  worseLow: number
  worseEstimate: number
  n: number
  note: string
}

/** Hanley & McNeil (1982) standard error of an AUC with nPos positives and nNeg negatives. */
export function hanleyMcNeilSe(auc: number, nPos: number, nNeg: number): number {
  const q1 = auc / (2 - auc)
  const q2 = (2 * auc * auc) / (1 + auc)
  const v = (auc * (1 - auc) + (nPos - 1) * (q1 - auc * auc) + (nNeg - 1) * (q2 - auc * auc)) / (nPos * nNeg)
  return Math.sqrt(Math.max(0, v))
}

function judge(input: DetectorInput, metric: PerformanceMetric, reference: number): Judged | string {
  const s = input.current.summary
  const z = input.config.performance.z
  const c = s.classification
  const r = s.regression
  if (metric === 'accuracy') {
    if (!c) return 'no classification metrics in the window'
    const { n, correct } = confusionTotals(c.confusion, c.classes.length)
    const refN = input.reference?.performance.labeled_count
    if (refN && refN > 0) {
      const diff = proportionDifferenceInterval(Math.round(reference * refN), refN, correct, n, z)
      const own = wilsonInterval(correct, n, z)
      if (!diff || !own) return 'no interval (empty window)'
      return { observed: correct / n, low: own.low, high: own.high, worseLow: diff.low, worseEstimate: diff.estimate, n, note: 'Newcombe, reference vs window' }
    }
    const own = wilsonInterval(correct, n, z)
    if (!own) return 'no interval (empty window)'
    return { observed: correct / n, low: own.low, high: own.high, worseLow: reference - own.high, worseEstimate: reference - correct / n, n, note: 'Wilson' }
  }
  if (metric === 'f1') {
    if (!c) return 'no classification metrics in the window'
    let successes: number
    let n: number
    if (input.model.task === 'binary_classification') {
      const p = c.classes.indexOf(input.model.positive_class ?? '')
      if (p < 0 || c.classes.length !== 2) return 'positive class not in the confusion matrix'
      const q = 1 - p
      const tp = confusionCount(c.confusion, 2, p, p)
      const fn = confusionCount(c.confusion, 2, p, q)
      const fp = confusionCount(c.confusion, 2, q, p)
      n = tp + (fp + fn) / 2
      successes = tp
    } else {
      n = confusionTotals(c.confusion, c.classes.length).n
      successes = c.f1 * n
    }
    const own = wilsonInterval(successes, n, z)
    if (!own) return 'no interval (no positives predicted or present)'
    return {
      observed: c.f1,
      low: own.low,
      high: own.high,
      worseLow: reference - own.high,
      worseEstimate: reference - c.f1,
      n,
      note: 'Wilson on TP / (TP + (FP + FN) / 2)',
    }
  }
  if (metric === 'roc_auc') {
    if (!c || c.roc_auc === null) return 'no roc_auc in the window'
    const p = c.classes.indexOf(input.model.positive_class ?? '')
    if (p < 0) return 'positive class not in the confusion matrix'
    const totals = confusionTotals(c.confusion, c.classes.length)
    const nPos = totals.truth[p]!
    const nNeg = totals.n - nPos
    if (nPos === 0 || nNeg === 0) return 'roc_auc needs both classes among the labels'
    const se = hanleyMcNeilSe(c.roc_auc, nPos, nNeg)
    const low = c.roc_auc - z * se
    const high = c.roc_auc + z * se
    return { observed: c.roc_auc, low, high, worseLow: reference - high, worseEstimate: reference - c.roc_auc, n: nPos + nNeg, note: 'Hanley-McNeil' }
  }
  if (!r) return 'no regression metrics in the window'
  const n = s.labeled_count
  const observed = metric === 'mae' ? r.mae : r.rmse
  const m4 = r.error_fourth_moment ?? null
  const se =
    metric === 'mae'
      ? Math.sqrt(Math.max(0, r.rmse * r.rmse - r.mae * r.mae) / n)
      : m4 !== null && r.rmse > 0
        ? Math.sqrt(Math.max(0, m4 - r.rmse ** 4) / n) / (2 * r.rmse)
        : r.rmse / Math.sqrt(2 * n)
  const low = observed - z * se
  const high = observed + z * se
  if (reference <= 0) return `reference ${metric} is ${reference}: a relative increase is undefined`
  return {
    observed,
    low,
    high,
    worseLow: (low - reference) / reference,
    worseEstimate: (observed - reference) / reference,
    n,
    note: metric === 'mae' ? 'SE sqrt(rmse^2-mae^2)/sqrt(n)' : m4 !== null ? 'SE sqrt((m4-mse^2)/n)/(2 rmse)' : 'SE rmse/sqrt(2n)',
  }
}

function levelsOf(config: DetectorConfig, metric: PerformanceMetric): Levels {
  return BOUNDED.includes(metric) ? config.performance.max_drop : config.performance.max_error_increase
}

function finding(input: DetectorInput, metric: PerformanceMetric, reference: number, j: Judged, severity: Severity, estimated: boolean): Finding {
  const key = input.current.summary.key
  const levels = levelsOf(input.config, metric)
  const bounded = BOUNDED.includes(metric)
  const kind = estimated ? 'estimated_performance' : 'performance'
  const limit = bounded ? reference - levels.warning : reference * (1 + levels.warning)
  const change = bounded ? `drop ${fmt(j.worseEstimate)} (interval low ${fmt(j.worseLow)})` : `+${pct(j.worseEstimate)} (interval low +${pct(j.worseLow)})`
  const coverage = input.current.summary.label_coverage
  return {
    key,
    kind,
    subject: metric,
    severity,
    measure: metric,
    observed: j.observed,
    expected: reference,
    threshold: limit,
    evidence: [
      {
        name: bounded ? `${metric}_drop` : `${metric}_increase`,
        score: j.worseEstimate,
        detail: `${change}; tolerated ${bounded ? fmt(levels.warning) : pct(levels.warning)}`,
      },
      { name: 'interval', score: j.worseLow, detail: `${metric} in [${fmt(j.low)}, ${fmt(j.high)}] (${j.note}, z ${input.config.performance.z})` },
      { name: estimated ? 'predictions' : 'labeled', score: j.n, detail: `label coverage ${pct(coverage)}` },
    ],
    label_coverage: coverage,
    estimated,
    summary: `${estimated ? 'estimated ' : ''}${metric} ${fmt(j.observed)} vs reference ${fmt(reference)}: ${change}${estimated ? ' (CBPE, labels missing)' : ''}`,
    runbook: runbookHint(kind, metric),
    evidence_query: input.evidence.summary(
      key,
      ['volume', 'labeled_count', 'label_coverage', metric === 'roc_auc' ? 'roc_auc' : metric, 'estimated_accuracy'],
      24,
    ),
  }
}

/** Why a window is not mature for performance, or null when it is. */
export function immatureReason(summary: WindowSummary, config: DetectorConfig): string | null {
  const p = config.performance
  if (summary.label_coverage < p.min_label_coverage) return `immature: label coverage ${pct(summary.label_coverage)} < ${pct(p.min_label_coverage)}`
  if (summary.labeled_count < p.min_labeled) return `immature: ${summary.labeled_count} labels < min_labeled ${p.min_labeled}`
  return null
}

function estimate(input: DetectorInput, skipped: Skip[], notJudged: NotJudged[]): Finding[] {
  const s = input.current.summary
  const { config, model } = input
  if (model.task !== 'binary_classification' || !config.performance.estimate_without_labels) return []
  const unjudged = (reason: string): Finding[] => {
    skipped.push({ detector: 'performance', subject: 'estimated_accuracy', reason })
    notJudged.push({ kind: 'estimated_performance', subject: 'accuracy', reason })
    return []
  }
  const reference = input.reference?.performance.accuracy
  if (reference === undefined) return unjudged('reference has no accuracy')
  if (s.estimated_accuracy === null || s.volume < config.min_volume) return unjudged(`no estimate (volume ${s.volume}, min_volume ${config.min_volume})`)
  const own = wilsonInterval(s.estimated_accuracy * s.volume, s.volume, config.performance.z)
  if (!own) return unjudged('no interval for the estimate')
  const j: Judged = {
    observed: s.estimated_accuracy,
    low: own.low,
    high: own.high,
    worseLow: reference - own.high,
    worseEstimate: reference - s.estimated_accuracy,
    n: s.volume,
    note: 'Wilson on the estimate',
  }
  const severity = severityOf(j.worseLow, config.performance.max_drop)
  return severity ? [finding(input, 'accuracy', reference, j, severity, true)] : []
}

/**
 * Measured performance of a mature window ('performance'), or the CBPE estimate of an immature one
 * ('estimated_performance'). A window this cannot judge (immature, no reference figure, no
 * interval) is reported in not_judged, so that it counts neither as a finding nor as a clean
 * window for the alert. A mature window is not estimated: it counts as clean for
 * 'estimated_performance', which is how an estimated alert hands over to the measured one.
 */
export function detectPerformance(input: DetectorInput): DetectorResult {
  const { config, current } = input
  const skipped: Skip[] = []
  const notJudged: NotJudged[] = []
  if (!config.performance.enabled) return { findings: [], skipped }
  const metric = performanceMetricFor(input.model, config)
  const unjudged = (reason: string): DetectorResult => {
    skipped.push({ detector: 'performance', subject: metric, reason })
    notJudged.push({ kind: 'performance', subject: metric, reason })
    return { findings: [], skipped, not_judged: notJudged }
  }
  const immature = immatureReason(current.summary, config)
  if (immature) {
    unjudged(immature)
    return { findings: estimate(input, skipped, notJudged), skipped, not_judged: notJudged }
  }
  const reference = input.reference?.performance[metric]
  if (reference === undefined) return unjudged(`reference has no ${metric}`)
  const j = judge(input, metric, reference)
  if (typeof j === 'string') return unjudged(j)
  const severity = severityOf(j.worseLow, levelsOf(config, metric))
  return { findings: severity ? [finding(input, metric, reference, j, severity, false)] : [], skipped, not_judged: notJudged }
}
