import { describe, expect, it } from 'vitest'
import type { ReferenceProfile } from '../../../services/shared/records/reference-profile.ts'
import { buildRuntimeModel, type RuntimeModel } from '../../../services/monitor/core/runtime-model.ts'
import { featureSettingsHash } from '../../../services/monitor/core/windows/profiled-features.ts'
import { sampleModel } from '../../support/reference-sample.ts'

function model(overrides: Record<string, unknown> = {}, edges = [0, 1, 2], categories = ['a', 'b']): RuntimeModel {
  const numeric = { bin_edges: edges, histogram: edges.map(() => 1).concat(1), count: edges.length + 1, null_rate: 0, min: 0, max: 3, mean: 1, std: 1 }
  const reference: ReferenceProfile = {
    model_id: 'credit-default',
    source: 'test',
    created_at: 0,
    numeric: { x: numeric },
    categorical: { c: { categories, counts: categories.map(() => 1), count: categories.length, null_rate: 0 } },
    prediction: {},
    performance: { accuracy: 0.9, labeled_count: 10 },
  }
  return buildRuntimeModel(sampleModel('credit-default', { segments: ['region'], ...overrides }), reference)
}

describe('feature settings hash', () => {
  it('is the same for the same settings and differs when anything the statistics depend on does', () => {
    const base = featureSettingsHash(model())
    expect(featureSettingsHash(model())).toBe(base)
    // Settings the statistics do not depend on.
    expect(featureSettingsHash(model({ decision_threshold: 0.7 }))).toBe(base)
    const changed = [
      model({}, [0, 1, 2.5]),
      model({}, [0, 1, 2], ['a', 'b', 'z']),
      model({ features: { numeric: ['x', 'age'], categorical: ['c'] } }),
      model({ segments: ['region', 'channel'] }),
      model({ max_category_values: 7 }),
      model({ max_segment_values: 7 }),
    ].map(featureSettingsHash)
    expect(new Set([base, ...changed]).size).toBe(changed.length + 1)
  })
})
