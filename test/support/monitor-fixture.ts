import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ReferenceProfile } from '../../services/shared/records/reference-profile.ts'

export const X1_EDGES = [-1.5, -0.5, 0, 0.5, 1.5]
export const KNOWN_COUNTRIES = ['DE', 'FR', 'US', 'PL']
export const HOUR = 3_600_000
/** The fixture model's cost matrix (business value per outcome). */
export const COSTS = { true_positive: 50, false_positive: -5, false_negative: -100, true_negative: 0 }

/** Writes a driftgate config and reference profile for the generated credit model; returns the config path. */
export function writeModelConfig(modelId: string, extra = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'driftgate-'))
  const reference: ReferenceProfile = {
    model_id: modelId,
    source: 'test',
    created_at: 0,
    numeric: { x1: { bin_edges: X1_EDGES, histogram: [7, 24, 19, 19, 24, 7], count: 100, null_rate: 0, min: -3, max: 3, mean: 0, std: 1 } },
    categorical: { country: { categories: KNOWN_COUNTRIES, counts: [25, 25, 25, 25], count: 100, null_rate: 0 } },
    prediction: {},
    performance: { accuracy: 0.7, labeled_count: 1000 },
  }
  writeFileSync(join(dir, 'reference.json'), JSON.stringify(reference))
  const path = join(dir, 'driftgate.yaml')
  writeFileSync(
    path,
    `models:
  - model_id: ${modelId}
    task: binary_classification
    positive_class: "1"
    classes: ["0", "1"]
    features:
      numeric: [x1, x2, x3]
      categorical: [country, channel]
    reference_profile: reference.json
    windows: [1h, 6h]
    segments: [new_entity]
    allowed_lateness: 10m
    label_horizon: 30d
    cost_matrix: { true_positive: ${COSTS.true_positive}, false_positive: ${COSTS.false_positive}, false_negative: ${COSTS.false_negative}, true_negative: ${COSTS.true_negative} }
${extra}`,
  )
  return path
}
