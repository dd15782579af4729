import type { ModelConfig } from '../../../shared/config/model-config.ts'
import type { PredictionEvent } from '../../../shared/events/types.ts'

/** A reference sample that does not fit the model's config; the message names every problem. */
export class ReferenceSampleError extends Error {
  override name = 'ReferenceSampleError'
}

/** Fewer predictions than this give quantile bins too coarse to judge drift on. */
export const MIN_REFERENCE_ROWS = 500

/**
 * Checks a reference sample against the model's config before a profile is built from it: a
 * feature the config does not list, or a listed feature no prediction carries, would give a
 * profile the monitor silently judges nothing against; too few rows give meaningless bins.
 */
export function checkReferenceSample(config: ModelConfig, predictions: PredictionEvent[], minRows = MIN_REFERENCE_ROWS): void {
  const problems: string[] = []
  const otherModels = new Set(predictions.filter((p) => p.model_id !== config.model_id).map((p) => p.model_id))
  if (otherModels.size > 0) problems.push(`predictions of other models in the sample: ${[...otherModels].sort().join(', ')}`)
  if (predictions.length < minRows) problems.push(`too few rows: ${predictions.length} predictions, at least ${minRows} needed`)
  const kinds: [string, string[], (p: PredictionEvent) => Record<string, unknown>][] = [
    ['numeric', config.features.numeric, (p) => p.numeric_features],
    ['categorical', config.features.categorical, (p) => p.categorical_features],
  ]
  for (const [kind, listed, features] of kinds) {
    const seen = new Map<string, number>()
    for (const p of predictions) for (const name of Object.keys(features(p))) seen.set(name, (seen.get(name) ?? 0) + 1)
    for (const [name, n] of [...seen].sort()) {
      if (listed.includes(name)) continue
      const elsewhere = kind === 'numeric' ? config.features.categorical.includes(name) : config.features.numeric.includes(name)
      problems.push(
        elsewhere
          ? `feature '${name}' is sent as ${kind} in ${n} predictions but configured as ${kind === 'numeric' ? 'categorical' : 'numeric'}`
          : `unknown ${kind} feature '${name}' in ${n} predictions (not in features.${kind} of ${config.model_id})`,
      )
    }
    for (const name of listed)
      if (!seen.has(name) && predictions.length > 0) problems.push(`missing ${kind} feature '${name}': no prediction in the sample carries it`)
  }
  if (problems.length > 0) throw new ReferenceSampleError(`reference sample for ${config.model_id} does not fit its config:\n  ${problems.join('\n  ')}`)
}
