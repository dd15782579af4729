// The windowed metrics the monitor writes to ClickHouse and the detectors read back.
// One WindowSummary per window key; one FeatureWindowStats per window key and feature
// (the model's prediction is profiled as the pseudo-features PREDICTION_SCORE, PREDICTION_CLASS
// and PREDICTION_VALUE).

import type { ConfusionCells } from '../stats/classification.ts'

export const ALL_SEGMENTS = 'all'
export const PREDICTION_SCORE = '__score'
export const PREDICTION_CLASS = '__predicted_class'
export const PREDICTION_VALUE = '__predicted_value'

export interface WindowKey {
  model_id: string
  model_version: string
  /** 'all' for the rollup, otherwise 'attribute=value' (e.g. 'new_entity=true'). */
  segment: string
  window_size_ms: number
  /** Inclusive start, ms since epoch, a multiple of window_size_ms. */
  window_start: number
}

export interface NumericStats {
  count: number
  nulls: number
  min: number | null
  max: number | null
  mean: number | null
  std: number | null
  /** Reference bin edges (ascending, length k); histogram has k + 1 buckets:
   *  (-inf, e0), [e0, e1), ..., [e(k-1), +inf). */
  bin_edges: number[]
  histogram: number[]
}

export interface CategoricalStats {
  count: number
  nulls: number
  categories: string[]
  counts: number[]
  /** Values not present in the reference profile. */
  unseen: number
  /** Distinct values beyond the model's max_category_values, counted together under
   *  OVERFLOW_CATEGORY (the last category), and the events they hold. */
  overflow_values: number
  overflow_count: number
}

/** The bucket of a window's least frequent categorical values past max_category_values. A
 *  producer's own value spelled so is counted in it too. */
export const OVERFLOW_CATEGORY = '__other__'

/** The segment value of a window's least frequent values of an attribute past max_segment_values
 *  ('attribute=__other__'); a producer's own value spelled so joins it. */
export const OVERFLOW_SEGMENT = '__other__'

export interface FeatureWindowStats {
  key: WindowKey
  feature: string
  numeric: NumericStats | null
  categorical: CategoricalStats | null
}

export interface ClassificationPerformance {
  accuracy: number
  precision: number
  recall: number
  f1: number
  log_loss: number | null
  roc_auc: number | null
  calibration_error: number | null
  /** Class labels in the order of the confusion matrix rows (truth) and columns (predicted). */
  classes: string[]
  confusion: ConfusionCells
}

export interface RegressionPerformance {
  mae: number
  rmse: number
  mape: number | null
  bias: number
  /** Mean of the errors' fourth powers, for the RMSE's interval (absent where not computed). */
  error_fourth_moment?: number | null
}

export interface WindowSummary {
  key: WindowKey
  volume: number
  /** Predictions that arrived after the window had closed (counted, not profiled). */
  late_count: number
  /** Extra copies of a prediction_id at other Kafka offsets (a producer sending twice). */
  duplicate_count: number
  labeled_count: number
  /** labeled_count / volume, 0 when volume is 0. */
  label_coverage: number
  label_delay_p50_ms: number | null
  label_delay_p90_ms: number | null
  label_delay_p99_ms: number | null
  classification: ClassificationPerformance | null
  regression: RegressionPerformance | null
  /** Confidence-based estimate (CBPE) of accuracy from calibrated scores, without labels. */
  estimated_accuracy: number | null
  /** Sum of the cost/benefit matrix over labeled predictions. */
  business_value: number | null
  /** True once the model's watermark passed window end (label-free statistics are final). */
  closed: boolean
}
