import type { ModelConfig } from '../../services/shared/config/model-config.ts'
import { modelConfigSchema } from '../../services/shared/config/model-config.ts'
import type { LabelEvent, PredictionEvent } from '../../services/shared/events/types.ts'
import type { ReferenceProfile } from '../../services/shared/records/reference-profile.ts'

// A reference sample whose profile is known in closed form: 1,250 predictions, `x` = i for the
// first 1,000 and null after; `c` cycles a, b, c; the score says 'yes' for every fourth; the
// first 1,000 are labeled 'yes' when i is even. Expected figures are worked out by hand below.

export const SAMPLE_ROWS = 1250

export function sampleModel(modelId: string, extra: Record<string, unknown> = {}): ModelConfig {
  return modelConfigSchema.parse({
    model_id: modelId,
    task: 'binary_classification',
    positive_class: 'yes',
    classes: ['yes', 'no'],
    features: { numeric: ['x'], categorical: ['c'] },
    ...extra,
  })
}

export function samplePredictions(modelId: string, start: number, stepMs = 1000): PredictionEvent[] {
  return Array.from({ length: SAMPLE_ROWS }, (_, i) => ({
    prediction_id: `${modelId}-${i}`,
    model_id: modelId,
    model_version: 'v1',
    event_time: start + i * stepMs,
    numeric_features: { x: i < 1000 ? i : null },
    categorical_features: { c: 'abc'[i % 3]! },
    prediction: { predicted_class: null, scores: i % 4 === 0 ? { yes: 0.9, no: 0.1 } : { yes: 0.1, no: 0.9 }, value: null },
    segments: {},
  }))
}

export function sampleLabels(modelId: string, labelTime: number): LabelEvent[] {
  return Array.from({ length: 1000 }, (_, i) => ({
    prediction_id: `${modelId}-${i}`,
    model_id: modelId,
    label_time: labelTime,
    label_class: i % 2 === 0 ? 'yes' : 'no',
    label_value: null,
  }))
}

/** By hand: x = 0..999 has mean 499.5 and population std sqrt((1000² - 1) / 12); 250 of 1,250 are
 *  null; c: a at i = 0, 3, ..., 1248 (417), b at 1, ..., 1249 (417), c (416). Of the 1,000 labeled,
 *  i % 4 = 0 (250) are called yes and are yes, odd i (500) called no and are no, i % 4 = 2 (250)
 *  called no but are yes: accuracy 0.75, precision 1, recall 250 / 500. */
export const EXPECTED = {
  x: { count: 1000, null_rate: 0.2, min: 0, max: 999, mean: 499.5, std: Math.sqrt((1000 ** 2 - 1) / 12) },
  c: { categories: ['a', 'b', 'c'], counts: [417, 417, 416], count: 1250, null_rate: 0 },
  performance: { labeled_count: 1000, accuracy: 0.75, precision: 1, recall: 0.5 },
}

/** A reference of model 'm' with a numeric feature `x` and a categorical `c`, for tests whose
 *  numbers do not depend on it. */
export const SMALL_REFERENCE: ReferenceProfile = {
  model_id: 'm',
  source: 'test',
  created_at: 0,
  numeric: { x: { bin_edges: [-1, 0, 1], histogram: [1, 1, 1, 1], count: 4, null_rate: 0, min: -2, max: 2, mean: 0, std: 1 } },
  categorical: { c: { categories: ['a', 'b', 'c'], counts: [1, 1, 1], count: 3, null_rate: 0 } },
  prediction: {},
  performance: { accuracy: 0.9, labeled_count: 10 },
}
