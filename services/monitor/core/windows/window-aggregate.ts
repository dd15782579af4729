import type { ModelConfig } from '../../../shared/config/model-config.ts'
import {
  ALL_SEGMENTS,
  OVERFLOW_CATEGORY,
  type CategoricalStats,
  type ClassificationPerformance,
  type FeatureWindowStats,
  type NumericStats,
  type WindowKey,
  type WindowSummary,
} from '../../../shared/records/window-metrics.ts'
import { binaryMetrics, confusionCount, emptyMoments, mergeMoments, momentsStd, multiclassMetrics, type Moments } from '../../../shared/stats/index.ts'
import type { RuntimeModel } from '../runtime-model.ts'
import { profiledFeatures } from './profiled-features.ts'

// Turns the rows of the aggregate queries (window-sql.ts) into window metrics. Pure: the same
// rows always give the same numbers, which is what makes recomputing a window after a replay
// safe. Ratios whose denominator is zero follow the shared stats functions (null or 0).

interface GroupKey {
  window_start: number
  model_version: string
  segment: string
}

/** One row of summarySql: the fields of the model's task are present, the others absent. */
export interface SummaryAggregateRow extends GroupKey {
  volume: number
  late_count: number
  duplicate_count: number
  labeled_count: number
  /** Newest ingested_at and number of distinct records of the labels read (0 without labels). */
  label_newest: number
  label_records: number
  delay_p50: number | null
  delay_p90: number | null
  delay_p99: number | null
  cls_n?: number
  /** The confusion matrix's non-empty cells (truth index × classes + predicted index) and counts. */
  confusion_cells?: number[]
  confusion_counts?: number[]
  scored_n?: number
  log_loss_sum?: number
  auc_u_with_ties?: number
  auc_u_below?: number
  auc_positives?: number
  ece_counts?: number[]
  ece_sums?: number[]
  ece_hits?: number[]
  value_tp?: number
  value_fp?: number
  value_fn?: number
  value_tn?: number
  value_right?: number
  cbpe_n?: number
  cbpe_tp?: number
  cbpe_fp?: number
  cbpe_fn?: number
  cbpe_tn?: number
  reg_n?: number
  reg_abs?: number
  reg_sq?: number
  reg_bias?: number
  reg_quad?: number
  reg_pct?: number
  reg_pct_n?: number
}

/** One row of numericFeaturesSql (a histogram bucket of a numeric feature, kind 0) or of
 *  categoricalFeaturesSql (one value of a categorical feature, kind 1; category null: missing),
 *  for the predictions of one window and version with the same segment attributes
 *  (`segment_keys`: 'attribute=value' per configured attribute, '' where they lack it). */
export interface FeatureAggregateRow {
  window_start: number
  model_version: string
  segment_keys: string[]
  feature: string
  kind: number
  bucket: number
  category: string | null
  n_rows: number
  n_values: number
  min_value: number | null
  max_value: number | null
  mean_value: number | null
  m2: number | null
}

/** A window group's identity in maps: window start, model version, segment. */
export const groupId = (g: GroupKey): string => `${g.window_start}\u0000${g.model_version}\u0000${g.segment}`
/** A feature's identity within its window group. */
export const featureId = (g: GroupKey, feature: string): string => `${groupId(g)}\u0000${feature}`

function classification(row: SummaryAggregateRow, config: ModelConfig): ClassificationPerformance | null {
  if (!row.cls_n) return null
  const classes = config.classes ?? []
  // sumMap gives the cells in ascending order, without zeros.
  const confusion = { cells: (row.confusion_cells ?? []).map(Number), counts: (row.confusion_counts ?? []).map(Number) }
  const logLoss = row.scored_n ? row.log_loss_sum! / row.scored_n : null
  if (config.task !== 'binary_classification')
    return { ...multiclassMetrics(confusion, classes.length), log_loss: logLoss, roc_auc: null, calibration_error: null, classes, confusion }
  const p = classes.indexOf(config.positive_class!)
  const n = p === 0 ? 1 : 0
  const positives = row.auc_positives ?? 0
  const negatives = (row.scored_n ?? 0) - positives
  // U = Σ over positives of (negatives below + ½ negatives tied) = mean of the two sums.
  const auc = positives > 0 && negatives > 0 ? (row.auc_u_with_ties! + row.auc_u_below!) / 2 / (positives * negatives) : null
  let ece: number | null = null
  if (row.scored_n) {
    ece = 0
    for (let b = 0; b < row.ece_counts!.length; b++) {
      const count = row.ece_counts![b]!
      if (count > 0) ece += (count / row.scored_n) * Math.abs(row.ece_sums![b]! / count - row.ece_hits![b]! / count)
    }
  }
  return {
    ...binaryMetrics(
      confusionCount(confusion, classes.length, p, p),
      confusionCount(confusion, classes.length, n, p),
      confusionCount(confusion, classes.length, p, n),
      confusionCount(confusion, classes.length, n, n),
    ),
    log_loss: logLoss,
    roc_auc: auc,
    calibration_error: ece,
    classes,
    confusion,
  }
}

function businessValue(row: SummaryAggregateRow, config: ModelConfig): number | null {
  const costs = config.cost_matrix
  if (!costs) return null
  if (config.task === 'regression') return row.reg_n ? -costs.per_unit_abs_error * row.reg_abs! : 0
  if (config.task === 'binary_classification') {
    return (
      row.value_tp! * costs.true_positive + row.value_fp! * costs.false_positive + row.value_fn! * costs.false_negative + row.value_tn! * costs.true_negative
    )
  }
  // Multiclass: a right class is valued as a true positive, a wrong one as a false positive.
  return row.value_right! * costs.true_positive + (row.labeled_count - row.value_right!) * costs.false_positive
}

export function summaryFromAggregate(model: RuntimeModel, sizeMs: number, row: SummaryAggregateRow, closed: boolean): WindowSummary {
  const config = model.config
  const key: WindowKey = {
    model_id: config.model_id,
    model_version: row.model_version,
    segment: row.segment,
    window_size_ms: sizeMs,
    window_start: row.window_start,
  }
  const estimated =
    config.task === 'binary_classification' && row.cbpe_n ? binaryMetrics(row.cbpe_tp!, row.cbpe_fp!, row.cbpe_fn!, row.cbpe_tn!).accuracy : null
  return {
    key,
    volume: row.volume,
    late_count: closed ? row.late_count : 0,
    duplicate_count: row.duplicate_count,
    labeled_count: row.labeled_count,
    label_coverage: row.volume ? row.labeled_count / row.volume : 0,
    label_delay_p50_ms: row.delay_p50,
    label_delay_p90_ms: row.delay_p90,
    label_delay_p99_ms: row.delay_p99,
    classification: config.task === 'regression' ? null : classification(row, config),
    regression:
      config.task === 'regression' && row.reg_n
        ? {
            mae: row.reg_abs! / row.reg_n,
            rmse: Math.sqrt(row.reg_sq! / row.reg_n),
            mape: row.reg_pct_n ? row.reg_pct! / row.reg_pct_n : null,
            bias: row.reg_bias! / row.reg_n,
            error_fourth_moment: row.reg_quad! / row.reg_n,
          }
        : null,
    estimated_accuracy: estimated,
    business_value: businessValue(row, config),
    closed,
  }
}

/**
 * A window's categories by name with their counts, at most `limit` of them plus OVERFLOW_CATEGORY
 * (last) holding the others: the most frequent are kept, ties broken by name, so a replay or
 * another instance keeps the same ones.
 */
export function capCategories(
  byCategory: Map<string, number>,
  limit: number,
): Pick<CategoricalStats, 'count' | 'categories' | 'counts' | 'overflow_values' | 'overflow_count'> {
  const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
  const own = [...byCategory].filter(([c]) => c !== OVERFLOW_CATEGORY)
  const count = [...byCategory.values()].reduce((a, b) => a + b, 0)
  const reserved = byCategory.get(OVERFLOW_CATEGORY) ?? 0
  if (own.length <= limit && reserved === 0) {
    const categories = own.map(([c]) => c).sort(byName)
    return { count, categories, counts: categories.map((c) => byCategory.get(c)!), overflow_values: 0, overflow_count: 0 }
  }
  const ranked = own.sort((a, b) => b[1] - a[1] || byName(a[0], b[0]))
  const kept = ranked.slice(0, limit).sort((a, b) => byName(a[0], b[0]))
  const rest = ranked.slice(limit)
  const overflowCount = rest.reduce((s, [, n]) => s + n, 0)
  return {
    count,
    categories: [...kept.map(([c]) => c), OVERFLOW_CATEGORY],
    counts: [...kept.map(([, n]) => n), overflowCount + reserved],
    overflow_values: rest.length,
    overflow_count: overflowCount,
  }
}

/** A numeric feature's statistics from its merged moments. */
export function numericStats(moments: Moments, nulls: number, edges: number[], histogram: number[]): NumericStats {
  const n = moments.count
  return {
    count: n,
    nulls,
    min: n ? moments.min : null,
    max: n ? moments.max : null,
    mean: n ? moments.mean : null,
    std: momentsStd(moments),
    bin_edges: edges,
    histogram,
  }
}

/**
 * Feature statistics of every group that has a summary: each profiled feature once, with zero
 * counts when no row of the group carries it. A segment's statistics merge the rows of every
 * attribute combination it contains (the rollup: all of them). Numeric moments are merged over
 * the histogram buckets and those combinations (Chan et al.), so one scan gives both.
 */
export function featuresFromAggregates(model: RuntimeModel, groups: WindowKey[], rows: FeatureAggregateRow[]): FeatureWindowStats[] {
  const { numeric, categorical } = profiledFeatures(model.config)
  const byFeature = new Map<string, { row: FeatureAggregateRow; order: string }[]>()
  for (const row of rows) {
    const order = row.segment_keys.join('\u0000')
    for (const segment of [ALL_SEGMENTS, ...row.segment_keys.filter((k) => k !== '')]) {
      const id = `${row.window_start}\u0000${row.model_version}\u0000${segment}\u0000${row.kind}\u0000${row.feature}`
      const list = byFeature.get(id)
      if (list) list.push({ row, order })
      else byFeature.set(id, [{ row, order }])
    }
  }
  const out: FeatureWindowStats[] = []
  for (const key of groups) {
    const id = groupId(key)
    for (const feature of numeric) {
      const edges = model.binEdges.get(feature) ?? []
      const histogram = new Array<number>(edges.length ? edges.length + 1 : 0).fill(0)
      let moments: Moments = emptyMoments()
      let nulls = 0
      // Merged in bucket order, then attribute order: the same rows always give the same bits.
      const parts = (byFeature.get(`${id}\u00000\u0000${feature}`) ?? []).sort(
        (a, b) => a.row.bucket - b.row.bucket || (a.order < b.order ? -1 : a.order > b.order ? 1 : 0),
      )
      for (const { row: r } of parts) {
        nulls += r.n_rows - r.n_values
        if (r.n_values === 0) continue
        if (histogram.length) histogram[r.bucket]! += r.n_values
        moments = mergeMoments(moments, { count: r.n_values, mean: r.mean_value!, m2: r.m2 ?? 0, min: r.min_value!, max: r.max_value! })
      }
      out.push({ key, feature, categorical: null, numeric: numericStats(moments, nulls, edges, histogram) })
    }
    for (const feature of categorical) {
      const known = model.knownCategories.get(feature)
      let nulls = 0
      const byCategory = new Map<string, number>()
      for (const { row: r } of byFeature.get(`${id}\u00001\u0000${feature}`) ?? []) {
        if (r.category === null) nulls += r.n_rows
        else byCategory.set(r.category, (byCategory.get(r.category) ?? 0) + r.n_rows)
      }
      const unseen = known ? [...byCategory].reduce((s, [c, n]) => s + (known.has(c) ? 0 : n), 0) : 0
      out.push({ key, feature, numeric: null, categorical: { nulls, unseen, ...capCategories(byCategory, model.config.max_category_values) } })
    }
  }
  return out
}

/** A window closed by processing time without a single prediction: volume 0, judged as such
 *  (a volume anomaly against the same hours before), on the rollup segment only. */
export function emptySummary(key: WindowKey): WindowSummary {
  return {
    key,
    volume: 0,
    late_count: 0,
    duplicate_count: 0,
    labeled_count: 0,
    label_coverage: 0,
    label_delay_p50_ms: null,
    label_delay_p90_ms: null,
    label_delay_p99_ms: null,
    classification: null,
    regression: null,
    estimated_accuracy: null,
    business_value: null,
    closed: true,
  }
}
