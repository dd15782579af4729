import type { ModelConfig } from '../../../shared/config/model-config.ts'
import { PREDICTION_CLASS, PREDICTION_SCORE, PREDICTION_VALUE } from '../../../shared/records/window-metrics.ts'

/** The features a window profiles: the model's own and the pseudo-features of its prediction. */
export function profiledFeatures(model: ModelConfig): { numeric: string[]; categorical: string[] } {
  return model.task === 'regression'
    ? { numeric: [...model.features.numeric, PREDICTION_VALUE], categorical: [...model.features.categorical] }
    : { numeric: [...model.features.numeric, PREDICTION_SCORE], categorical: [...model.features.categorical, PREDICTION_CLASS] }
}
