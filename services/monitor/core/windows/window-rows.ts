import type { FeatureWindowStats, WindowKey, WindowSummary } from '../../../shared/records/window-metrics.ts'
import { confusionCells, confusionMatrixOf } from '../../../shared/stats/index.ts'

/** Up to this many classes a window's row also holds its confusion matrix in full (`confusion`,
 *  k × k): for more, k² numbers per row cost more than they help (3,000 classes: 108 MB of them
 *  per hourly window of six segments), and only the non-zero cells are kept. */
export const FULL_CONFUSION_MAX_CLASSES = 100

// The stored rows of window_summary and window_feature_stats (SummaryRecord, FeatureRecord:
// their columns but the version and time columns the store adds) and the mapping both ways
// between them and the shapes the detectors use. The migrations define the same columns; a unit
// test holds the three together.

export interface SummaryRecord {
  model_id: string
  model_version: string
  segment: string
  window_size_ms: number
  window_start: number
  volume: number
  late_count: number
  duplicate_count: number
  labeled_count: number
  label_coverage: number
  label_delay_p50_ms: number | null
  label_delay_p90_ms: number | null
  label_delay_p99_ms: number | null
  accuracy: number | null
  precision: number | null
  recall: number | null
  f1: number | null
  log_loss: number | null
  roc_auc: number | null
  calibration_error: number | null
  classes: string[]
  /** The full matrix, for models of at most FULL_CONFUSION_MAX_CLASSES classes (else empty). */
  confusion: number[][]
  /** Its non-zero cells (truth index × classes + predicted index) and their counts. */
  confusion_cells: number[]
  confusion_counts: number[]
  mae: number | null
  rmse: number | null
  mape: number | null
  bias: number | null
  error_fourth_moment: number | null
  estimated_accuracy: number | null
  business_value: number | null
  closed: number
}

export interface FeatureRecord {
  model_id: string
  model_version: string
  segment: string
  window_size_ms: number
  window_start: number
  feature: string
  kind: string
  count: number
  nulls: number
  min: number | null
  max: number | null
  mean: number | null
  std: number | null
  bin_edges: number[]
  histogram: number[]
  categories: string[]
  category_counts: number[]
  unseen: number
  overflow_values: number
  overflow_count: number
}

const keyOf = (r: SummaryRecord | FeatureRecord): WindowKey => ({
  model_id: r.model_id,
  model_version: r.model_version,
  segment: r.segment,
  window_size_ms: r.window_size_ms,
  window_start: r.window_start,
})

export function summaryFromRecord(r: SummaryRecord): WindowSummary {
  return {
    key: keyOf(r),
    volume: r.volume,
    late_count: r.late_count,
    duplicate_count: r.duplicate_count,
    labeled_count: r.labeled_count,
    label_coverage: r.label_coverage,
    label_delay_p50_ms: r.label_delay_p50_ms,
    label_delay_p90_ms: r.label_delay_p90_ms,
    label_delay_p99_ms: r.label_delay_p99_ms,
    classification:
      r.accuracy === null
        ? null
        : {
            accuracy: r.accuracy,
            precision: r.precision ?? 0,
            recall: r.recall ?? 0,
            f1: r.f1 ?? 0,
            log_loss: r.log_loss,
            roc_auc: r.roc_auc,
            calibration_error: r.calibration_error,
            classes: r.classes,
            // Rows stored before the cells were kept have only the full matrix.
            confusion:
              r.confusion_cells.length > 0 || r.confusion.length === 0 ? { cells: r.confusion_cells, counts: r.confusion_counts } : confusionCells(r.confusion),
          },
    regression: r.mae === null ? null : { mae: r.mae, rmse: r.rmse ?? 0, mape: r.mape, bias: r.bias ?? 0, error_fourth_moment: r.error_fourth_moment },
    estimated_accuracy: r.estimated_accuracy,
    business_value: r.business_value,
    closed: r.closed === 1,
  }
}

export function featureFromRecord(r: FeatureRecord): FeatureWindowStats {
  return r.kind === 'numeric'
    ? {
        key: keyOf(r),
        feature: r.feature,
        categorical: null,
        numeric: { count: r.count, nulls: r.nulls, min: r.min, max: r.max, mean: r.mean, std: r.std, bin_edges: r.bin_edges, histogram: r.histogram },
      }
    : {
        key: keyOf(r),
        feature: r.feature,
        numeric: null,
        categorical: {
          count: r.count,
          nulls: r.nulls,
          categories: r.categories,
          counts: r.category_counts,
          unseen: r.unseen,
          overflow_values: r.overflow_values,
          overflow_count: r.overflow_count,
        },
      }
}

export function summaryToRecord(s: WindowSummary): SummaryRecord {
  return {
    ...s.key,
    volume: s.volume,
    late_count: s.late_count,
    duplicate_count: s.duplicate_count,
    labeled_count: s.labeled_count,
    label_coverage: s.label_coverage,
    label_delay_p50_ms: s.label_delay_p50_ms,
    label_delay_p90_ms: s.label_delay_p90_ms,
    label_delay_p99_ms: s.label_delay_p99_ms,
    accuracy: s.classification?.accuracy ?? null,
    precision: s.classification?.precision ?? null,
    recall: s.classification?.recall ?? null,
    f1: s.classification?.f1 ?? null,
    log_loss: s.classification?.log_loss ?? null,
    roc_auc: s.classification?.roc_auc ?? null,
    calibration_error: s.classification?.calibration_error ?? null,
    classes: s.classification?.classes ?? [],
    confusion:
      s.classification && s.classification.classes.length <= FULL_CONFUSION_MAX_CLASSES
        ? confusionMatrixOf(s.classification.confusion, s.classification.classes.length)
        : [],
    confusion_cells: s.classification?.confusion.cells ?? [],
    confusion_counts: s.classification?.confusion.counts ?? [],
    mae: s.regression?.mae ?? null,
    rmse: s.regression?.rmse ?? null,
    mape: s.regression?.mape ?? null,
    bias: s.regression?.bias ?? null,
    error_fourth_moment: s.regression?.error_fourth_moment ?? null,
    estimated_accuracy: s.estimated_accuracy,
    business_value: s.business_value,
    closed: s.closed ? 1 : 0,
  }
}

export function featureToRecord(f: FeatureWindowStats): FeatureRecord {
  return {
    ...f.key,
    feature: f.feature,
    kind: f.numeric ? 'numeric' : 'categorical',
    count: f.numeric?.count ?? f.categorical?.count ?? 0,
    nulls: f.numeric?.nulls ?? f.categorical?.nulls ?? 0,
    min: f.numeric?.min ?? null,
    max: f.numeric?.max ?? null,
    mean: f.numeric?.mean ?? null,
    std: f.numeric?.std ?? null,
    bin_edges: f.numeric?.bin_edges ?? [],
    histogram: f.numeric?.histogram ?? [],
    categories: f.categorical?.categories ?? [],
    category_counts: f.categorical?.counts ?? [],
    unseen: f.categorical?.unseen ?? 0,
    overflow_values: f.categorical?.overflow_values ?? 0,
    overflow_count: f.categorical?.overflow_count ?? 0,
  }
}
