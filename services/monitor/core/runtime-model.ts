import type { ModelConfig } from '../../shared/config/model-config.ts'
import type { ReferenceProfile } from '../../shared/records/reference-profile.ts'
import { parseDetectorConfig, type DetectorConfig } from './detectors/detector-config.ts'

/** A configured model with its reference profile loaded (or none: windows then have no bins). */
export interface RuntimeModel {
  config: ModelConfig
  reference: ReferenceProfile | null
  /** Histogram bin edges per numeric feature and for the score, from the reference profile. */
  binEdges: Map<string, number[]>
  /** Known categories per categorical feature, from the reference profile. */
  knownCategories: Map<string, Set<string>>
  /** The model's validated `detectors` block (defaults when absent). */
  detectors: DetectorConfig
}

export function buildRuntimeModel(config: ModelConfig, reference: ReferenceProfile | null, configPath = 'detectors'): RuntimeModel {
  const binEdges = new Map<string, number[]>()
  const knownCategories = new Map<string, Set<string>>()
  if (reference) {
    for (const [name, ref] of Object.entries(reference.numeric)) binEdges.set(name, ref.bin_edges)
    for (const [name, ref] of Object.entries(reference.categorical)) knownCategories.set(name, new Set(ref.categories))
    for (const [name, ref] of Object.entries(reference.prediction)) {
      if ('bin_edges' in ref) binEdges.set(name, ref.bin_edges)
      else knownCategories.set(name, new Set(ref.categories))
    }
  }
  return { config, reference, binEdges, knownCategories, detectors: parseDetectorConfig(config.detectors, configPath, config) }
}
