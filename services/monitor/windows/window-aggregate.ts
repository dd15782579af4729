import type { ModelConfig } from '../../shared/config/model-config.ts'
import {
  ALL_SEGMENTS,
  PREDICTION_CLASS,
  PREDICTION_SCORE,
  PREDICTION_VALUE,
  type CategoricalStats,
  type ClassificationPerformance,
  type FeatureWindowStats,
  type NumericStats,
  type WindowKey,
  type WindowSummary,
} from '../../shared/model/window-metrics.ts'
import {
  binaryMetrics,
  bucketIndex,
  confusionMatrix,
  estimateBinaryPerformance,
  expectedCalibrationError,
  logLoss,
  multiclassLogLoss,
  multiclassMetrics,
  quantiles,
  regressionMetrics,
  rocAuc,
} from '../../shared/stats/index.ts'
import type { RuntimeModel } from '../runtime-models.ts'

/** One deduplicated prediction of a window with its current label (if any, within the horizon). */
export interface WindowRow {
  prediction_id: string
  model_version: string
  event_time: number
  numeric: Record<string, number | null>
  categorical: Record<string, string | null>
  predicted_class: string | null
  score: number | null
  class_scores: Record<string, number>
  predicted_value: number | null
  segments: Record<string, string>
  kafka_timestamp: number
  /** Extra copies of this prediction_id seen at other Kafka offsets. */
  duplicates: number
  label: { label_class: string | null; label_value: number | null; label_time: number } | null
}

export interface WindowAggregate {
  summaries: WindowSummary[]
  features: FeatureWindowStats[]
}

/** Segment keys a prediction belongs to: the rollup plus one per configured attribute. */
export function segmentsOf(row: WindowRow, config: ModelConfig): string[] {
  const keys = [ALL_SEGMENTS]
  for (const attribute of config.segments) {
    const value = row.segments[attribute]
    if (value !== undefined) keys.push(`${attribute}=${value}`)
  }
  return keys
}

class NumericAccumulator {
  private values: number[] = []
  nulls = 0
  constructor(private readonly edges: number[]) {}
  add(value: number | null | undefined): void {
    if (value === undefined) return
    if (value === null) this.nulls++
    else this.values.push(value)
  }
  result(): NumericStats {
    const n = this.values.length
    const histogram = new Array<number>(this.edges.length ? this.edges.length + 1 : 0).fill(0)
    if (this.edges.length) for (const v of this.values) histogram[bucketIndex(this.edges, v)]!++
    if (n === 0) return { count: 0, nulls: this.nulls, min: null, max: null, mean: null, std: null, bin_edges: this.edges, histogram }
    let sum = 0
    let min = Infinity
    let max = -Infinity
    for (const v of this.values) {
      sum += v
      if (v < min) min = v
      if (v > max) max = v
    }
    const mean = sum / n
    let squares = 0
    for (const v of this.values) squares += (v - mean) ** 2
    return { count: n, nulls: this.nulls, min, max, mean, std: Math.sqrt(squares / n), bin_edges: this.edges, histogram }
  }
}

class CategoricalAccumulator {
  private readonly counts = new Map<string, number>()
  nulls = 0
  constructor(private readonly known: Set<string> | undefined) {}
  add(value: string | null | undefined): void {
    if (value === undefined) return
    if (value === null) this.nulls++
    else this.counts.set(value, (this.counts.get(value) ?? 0) + 1)
  }
  result(): CategoricalStats {
    const categories = [...this.counts.keys()].sort()
    const counts = categories.map((c) => this.counts.get(c)!)
    const unseen = this.known ? categories.reduce((sum, c, i) => sum + (this.known!.has(c) ? 0 : counts[i]!), 0) : 0
    return { count: counts.reduce((a, b) => a + b, 0), nulls: this.nulls, categories, counts, unseen }
  }
}

function classification(rows: WindowRow[], model: RuntimeModel): ClassificationPerformance | null {
  const config = model.config
  const labeled = rows.filter((r) => r.label?.label_class != null && r.predicted_class !== null)
  if (labeled.length === 0) return null
  const classes = config.classes ?? []
  const truth = labeled.map((r) => r.label!.label_class!)
  const predicted = labeled.map((r) => r.predicted_class!)
  const confusion = confusionMatrix(truth, predicted, classes)
  if (config.task === 'binary_classification') {
    const p = classes.indexOf(config.positive_class!)
    const n = p === 0 ? 1 : 0
    const tp = confusion[p]![p]!
    const fn = confusion[p]![n]!
    const fp = confusion[n]![p]!
    const tn = confusion[n]![n]!
    const withScore = labeled.filter((r) => r.score !== null)
    const isPositive = withScore.map((r) => r.label!.label_class === config.positive_class)
    const scores = withScore.map((r) => r.score!)
    return {
      ...binaryMetrics(tp, fp, fn, tn),
      log_loss: logLoss(isPositive, scores),
      roc_auc: rocAuc(isPositive, scores),
      calibration_error: expectedCalibrationError(isPositive, scores),
      classes,
      confusion,
    }
  }
  const withScores = labeled.filter((r) => classes.every((c) => r.class_scores[c] !== undefined))
  return {
    ...multiclassMetrics(confusion),
    log_loss: multiclassLogLoss(
      withScores.map((r) => classes.indexOf(r.label!.label_class!)),
      withScores.map((r) => classes.map((c) => r.class_scores[c]!)),
    ),
    roc_auc: null,
    calibration_error: null,
    classes,
    confusion,
  }
}

function businessValue(rows: WindowRow[], config: ModelConfig): number | null {
  const costs = config.cost_matrix
  if (!costs) return null
  let value = 0
  for (const r of rows) {
    if (!r.label) continue
    if (config.task === 'regression') {
      if (r.label.label_value !== null && r.predicted_value !== null) value -= costs.per_unit_abs_error * Math.abs(r.predicted_value - r.label.label_value)
    } else if (config.task === 'binary_classification') {
      const actual = r.label.label_class === config.positive_class
      const said = r.predicted_class === config.positive_class
      value += actual ? (said ? costs.true_positive : costs.false_negative) : said ? costs.false_positive : costs.true_negative
    } else {
      // Multiclass: a right class is valued as a true positive, a wrong one as a false positive.
      value += r.label.label_class === r.predicted_class ? costs.true_positive : costs.false_positive
    }
  }
  return value
}

function summarize(key: WindowKey, rows: WindowRow[], model: RuntimeModel, closeTs: number | null): WindowSummary {
  const config = model.config
  const labeled = rows.filter((r) => r.label !== null)
  const delays = labeled.map((r) => r.label!.label_time - r.event_time)
  const [p50, p90, p99] = delays.length ? quantiles(delays, [0.5, 0.9, 0.99]) : [null, null, null]
  const regression =
    config.task === 'regression'
      ? regressionMetrics(
          labeled.filter((r) => r.label!.label_value !== null && r.predicted_value !== null).map((r) => r.label!.label_value!),
          labeled.filter((r) => r.label!.label_value !== null && r.predicted_value !== null).map((r) => r.predicted_value!),
        )
      : null
  const scored = rows.filter((r) => r.score !== null).map((r) => r.score!)
  return {
    key,
    volume: rows.length,
    late_count: closeTs === null ? 0 : rows.filter((r) => r.kafka_timestamp > closeTs).length,
    duplicate_count: rows.reduce((sum, r) => sum + r.duplicates, 0),
    labeled_count: labeled.length,
    label_coverage: rows.length ? labeled.length / rows.length : 0,
    label_delay_p50_ms: p50 ?? null,
    label_delay_p90_ms: p90 ?? null,
    label_delay_p99_ms: p99 ?? null,
    classification: config.task === 'regression' ? null : classification(rows, model),
    regression,
    estimated_accuracy: config.task === 'binary_classification' && scored.length ? (estimateBinaryPerformance(scored)?.accuracy ?? null) : null,
    business_value: businessValue(rows, config),
    closed: closeTs !== null,
  }
}

function profile(key: WindowKey, rows: WindowRow[], model: RuntimeModel): FeatureWindowStats[] {
  const config = model.config
  const out: FeatureWindowStats[] = []
  const numeric = (feature: string, pick: (r: WindowRow) => number | null | undefined): void => {
    const acc = new NumericAccumulator(model.binEdges.get(feature) ?? [])
    for (const r of rows) acc.add(pick(r))
    out.push({ key, feature, numeric: acc.result(), categorical: null })
  }
  const categorical = (feature: string, pick: (r: WindowRow) => string | null | undefined): void => {
    const acc = new CategoricalAccumulator(model.knownCategories.get(feature))
    for (const r of rows) acc.add(pick(r))
    out.push({ key, feature, numeric: null, categorical: acc.result() })
  }
  for (const f of config.features.numeric) numeric(f, (r) => r.numeric[f])
  for (const f of config.features.categorical) categorical(f, (r) => r.categorical[f])
  if (config.task === 'regression') numeric(PREDICTION_VALUE, (r) => r.predicted_value)
  else {
    numeric(PREDICTION_SCORE, (r) => r.score)
    categorical(PREDICTION_CLASS, (r) => r.predicted_class)
  }
  return out
}

/**
 * Computes the metrics of one window (all its model versions and segments) from its
 * deduplicated rows. Pure: the same rows always give the same numbers, which is what makes
 * recomputing a window after a replay safe.
 */
export function aggregateWindow(
  model: RuntimeModel,
  windowSizeMs: number,
  windowStartMs: number,
  rows: WindowRow[],
  closeTs: number | null,
): WindowAggregate {
  const groups = new Map<string, { key: WindowKey; rows: WindowRow[] }>()
  for (const row of rows) {
    for (const segment of segmentsOf(row, model.config)) {
      const id = `${row.model_version}\u0000${segment}`
      let group = groups.get(id)
      if (!group) {
        group = { key: { model_id: model.config.model_id, model_version: row.model_version, segment, window_size_ms: windowSizeMs, window_start: windowStartMs }, rows: [] }
        groups.set(id, group)
      }
      group.rows.push(row)
    }
  }
  const summaries: WindowSummary[] = []
  const features: FeatureWindowStats[] = []
  for (const { key, rows: groupRows } of groups.values()) {
    summaries.push(summarize(key, groupRows, model, closeTs))
    features.push(...profile(key, groupRows, model))
  }
  return { summaries, features }
}
