import type { ModelConfig } from '../../../shared/config/model-config.ts'
import type { LabelEvent, PredictionEvent } from '../../../shared/events/types.ts'
import type { CategoricalReference, NumericReference, PerformanceReference, ReferenceProfile } from '../../../shared/records/reference-profile.ts'
import { PREDICTION_CLASS, PREDICTION_SCORE, PREDICTION_VALUE } from '../../../shared/records/window-metrics.ts'
import {
  binaryMetrics,
  confusionCount,
  countConfusion,
  histogramCounts,
  multiclassMetrics,
  quantileBinEdges,
  regressionMetrics,
  rocAuc,
} from '../../../shared/stats/index.ts'
import { buildRuntimeModel } from '../runtime-model.ts'
import { positiveScore, predictedClass } from '../ingest/event-rows.ts'

function numericReference(values: (number | null | undefined)[], bins: number): NumericReference {
  const present = values.filter((v): v is number | null => v !== undefined)
  const finite = present.filter((v): v is number => v !== null)
  const edges = quantileBinEdges(finite, bins)
  const n = finite.length
  const mean = n ? finite.reduce((a, b) => a + b, 0) / n : 0
  return {
    bin_edges: edges,
    histogram: histogramCounts(edges, finite),
    count: n,
    null_rate: present.length ? (present.length - n) / present.length : 0,
    min: n ? Math.min(...finite) : 0,
    max: n ? Math.max(...finite) : 0,
    mean,
    std: n ? Math.sqrt(finite.reduce((s, v) => s + (v - mean) ** 2, 0) / n) : 0,
  }
}

function categoricalReference(values: (string | null | undefined)[]): CategoricalReference {
  const present = values.filter((v): v is string | null => v !== undefined)
  const counts = new Map<string, number>()
  for (const v of present) if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1)
  const categories = [...counts.keys()].sort()
  const total = categories.reduce((s, c) => s + counts.get(c)!, 0)
  return { categories, counts: categories.map((c) => counts.get(c)!), count: total, null_rate: present.length ? (present.length - total) / present.length : 0 }
}

/**
 * Builds a model's reference profile from its training baseline (predictions the model made
 * on data like its training data, with their labels when known): quantile bins per numeric
 * feature and for the score, category counts, null rates, and baseline performance.
 */
export function buildReferenceProfile(
  config: ModelConfig,
  predictions: PredictionEvent[],
  labels: LabelEvent[],
  options: { bins?: number; source: string; now: number },
): ReferenceProfile {
  const bins = options.bins ?? 10
  const model = buildRuntimeModel(config, null)
  const numeric: Record<string, NumericReference> = {}
  const categorical: Record<string, CategoricalReference> = {}
  for (const f of config.features.numeric)
    numeric[f] = numericReference(
      predictions.map((p) => p.numeric_features[f]),
      bins,
    )
  for (const f of config.features.categorical) categorical[f] = categoricalReference(predictions.map((p) => p.categorical_features[f]))
  const prediction: ReferenceProfile['prediction'] = {}
  if (config.task === 'regression')
    prediction[PREDICTION_VALUE] = numericReference(
      predictions.map((p) => p.prediction.value),
      bins,
    )
  else {
    prediction[PREDICTION_SCORE] = numericReference(
      predictions.map((p) => positiveScore(p, model)),
      bins,
    )
    prediction[PREDICTION_CLASS] = categoricalReference(predictions.map((p) => predictedClass(p, model)))
  }

  const labelById = new Map(labels.map((l) => [l.prediction_id, l]))
  const labeled = predictions.filter((p) => labelById.has(p.prediction_id))
  const performance: PerformanceReference = { labeled_count: labeled.length }
  if (labeled.length > 0) {
    if (config.task === 'regression') {
      const pairs = labeled.filter((p) => p.prediction.value !== null && labelById.get(p.prediction_id)!.label_value !== null)
      const metrics = regressionMetrics(
        pairs.map((p) => labelById.get(p.prediction_id)!.label_value!),
        pairs.map((p) => p.prediction.value!),
      )
      if (metrics) Object.assign(performance, { mae: metrics.mae, rmse: metrics.rmse })
    } else {
      const classes = config.classes ?? []
      const confusion = countConfusion(
        labeled.map((p) => labelById.get(p.prediction_id)!.label_class ?? ''),
        labeled.map((p) => predictedClass(p, model) ?? ''),
        classes,
      )
      if (config.task === 'binary_classification') {
        const pi = classes.indexOf(config.positive_class!)
        const ni = pi === 0 ? 1 : 0
        const cell = (truth: number, said: number): number => confusionCount(confusion, classes.length, truth, said)
        Object.assign(performance, binaryMetrics(cell(pi, pi), cell(ni, pi), cell(pi, ni), cell(ni, ni)))
        const scored = labeled.filter((p) => positiveScore(p, model) !== null)
        performance.roc_auc =
          rocAuc(
            scored.map((p) => labelById.get(p.prediction_id)!.label_class === config.positive_class),
            scored.map((p) => positiveScore(p, model)!),
          ) ?? undefined
      } else Object.assign(performance, multiclassMetrics(confusion, classes.length))
    }
  }
  return { model_id: config.model_id, source: options.source, created_at: options.now, numeric, categorical, prediction, performance }
}
