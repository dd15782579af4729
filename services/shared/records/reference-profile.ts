// The reference profile a model's windows are compared with: built from the training baseline
// (or a chosen reference window) and stored as JSON. Numeric histograms use the profile's own
// quantile bin edges, so the monitor histograms every window on the same bins and drift
// statistics need no raw rows.

export interface NumericReference {
  /** Ascending quantile bin edges; histograms have bin_edges.length + 1 buckets. */
  bin_edges: number[]
  /** Reference counts per bucket (same layout as NumericStats.histogram). */
  histogram: number[]
  count: number
  null_rate: number
  min: number
  max: number
  mean: number
  std: number
}

export interface CategoricalReference {
  categories: string[]
  counts: number[]
  count: number
  null_rate: number
}

export interface PerformanceReference {
  accuracy?: number
  precision?: number
  recall?: number
  f1?: number
  roc_auc?: number
  log_loss?: number
  mae?: number
  rmse?: number
  /** Number of labeled examples behind the figures above (for confidence intervals). */
  labeled_count?: number
}

export interface ReferenceProfile {
  model_id: string
  /** Where it came from: 'training-baseline:<file>' or 'window:<segment>@<start>/<size>'. */
  source: string
  created_at: number
  numeric: Record<string, NumericReference>
  categorical: Record<string, CategoricalReference>
  /** Profiles of the prediction, keyed by the pseudo-feature names in window-metrics.ts. */
  prediction: Record<string, NumericReference | CategoricalReference>
  performance: PerformanceReference
}
