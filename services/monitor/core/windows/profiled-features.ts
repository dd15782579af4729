import { createHash } from 'node:crypto'
import type { ModelConfig } from '../../../shared/config/model-config.ts'
import type { RuntimeModel } from '../runtime-model.ts'
import { PREDICTION_CLASS, PREDICTION_SCORE, PREDICTION_VALUE } from '../../../shared/records/window-metrics.ts'

/** The features a window profiles: the model's own and the pseudo-features of its prediction. */
export function profiledFeatures(model: ModelConfig): { numeric: string[]; categorical: string[] } {
  return model.task === 'regression'
    ? { numeric: [...model.features.numeric, PREDICTION_VALUE], categorical: [...model.features.categorical] }
    : { numeric: [...model.features.numeric, PREDICTION_SCORE], categorical: [...model.features.categorical, PREDICTION_CLASS] }
}

const settingsHashes = new WeakMap<RuntimeModel, string>()

/**
 * A hash of everything a window's feature statistics depend on besides its predictions: the
 * profiled features, the reference bins and categories, and the category and segment limits.
 * Stored with the statistics, so they are reused only under the settings they were computed with.
 */
export function featureSettingsHash(model: RuntimeModel): string {
  let hash = settingsHashes.get(model)
  if (hash === undefined) {
    const { numeric, categorical } = profiledFeatures(model.config)
    const settings = {
      numeric: numeric.map((f) => [f, model.binEdges.get(f) ?? null]),
      categorical: categorical.map((f) => [f, [...(model.knownCategories.get(f) ?? [])].sort()]),
      max_category_values: model.config.max_category_values,
      segments: model.config.segments,
      max_segment_values: model.config.max_segment_values,
    }
    hash = createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 16)
    settingsHashes.set(model, hash)
  }
  return hash
}
