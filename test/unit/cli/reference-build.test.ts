import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseTime, profileFromSample, profilePath, writeProfile } from '../../../services/cli/reference-build.ts'
import { ReferenceSampleError } from '../../../services/monitor/core/reference/check-reference.ts'
import { parseDriftgateConfig } from '../../../services/shared/config/model-config.ts'
import type { NumericReference } from '../../../services/shared/records/reference-profile.ts'
import { EXPECTED, sampleLabels, sampleModel, samplePredictions } from '../../support/reference-sample.ts'

const dir = mkdtempSync(join(tmpdir(), 'reference-build-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const model = sampleModel('ref-unit')
const predictions = samplePredictions('ref-unit', 1_764_000_000_000)
const labels = sampleLabels('ref-unit', 1_765_000_000_000)
const build = (p = predictions, minRows?: number) => profileFromSample(model, { predictions: p, labels }, { source: 'test', now: 1, minRows })

describe('reference build', () => {
  it('profiles a sample as worked out by hand', () => {
    const profile = build()
    const x = profile.numeric.x!
    expect({ count: x.count, null_rate: x.null_rate, min: x.min, max: x.max }).toEqual({ count: 1000, null_rate: 0.2, min: 0, max: 999 })
    expect(x.mean).toBeCloseTo(EXPECTED.x.mean, 9)
    expect(x.std).toBeCloseTo(EXPECTED.x.std, 9)
    expect(x.histogram.reduce((a, b) => a + b, 0)).toBe(1000)
    expect(x.bin_edges.length).toBe(9)
    expect(profile.categorical.c).toEqual(EXPECTED.c)
    expect(profile.performance).toMatchObject({ labeled_count: 1000, accuracy: 0.75, precision: 1, recall: 0.5 })
    // Every fourth prediction scores 0.9, the others 0.1.
    const score = profile.prediction.__score as NumericReference
    expect(score.mean).toBeCloseTo((313 * 0.9 + 937 * 0.1) / 1250, 9)
  })

  it('refuses an unknown feature, a missing one and too few rows, naming each', () => {
    const renamed = predictions.map((p) => ({ ...p, numeric_features: { y: p.numeric_features.x! } }))
    expect(() => build(renamed)).toThrow(ReferenceSampleError)
    expect(() => build(renamed)).toThrow(/unknown numeric feature 'y' in 1250 predictions[\s\S]*missing numeric feature 'x'/)
    expect(() => build(predictions.slice(0, 499))).toThrow(/too few rows: 499 predictions, at least 500 needed/)
    expect(() => build(predictions.slice(0, 10), 10)).not.toThrow()
    const swapped = predictions.map((p) => ({ ...p, numeric_features: { ...p.numeric_features, c: 1 } }))
    expect(() => build(swapped)).toThrow(/feature 'c' is sent as numeric in 1250 predictions but configured as categorical/)
    const other = predictions.map((p, i) => (i === 0 ? { ...p, model_id: 'someone-else' } : p))
    expect(() => build(other)).toThrow(/other models in the sample: someone-else/)
  })

  it("writes where the model's config points, relative to the config file", () => {
    const config = parseDriftgateConfig({ models: [{ ...sampleModelRaw(), reference_profile: 'profiles/ref.json' }] }, dir)
    const path = profilePath(config, config.models[0]!)
    expect(path).toBe(join(dir, 'profiles', 'ref.json'))
    writeProfile(path, build())
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ model_id: 'ref-unit', source: 'test' })
    const bare = parseDriftgateConfig({ models: [sampleModelRaw()] }, dir)
    expect(() => profilePath(bare, bare.models[0]!)).toThrow(/no reference_profile .* give --out/)
    expect(profilePath(bare, bare.models[0]!, join(dir, 'o.json'))).toBe(join(dir, 'o.json'))
  })

  it('reads times as ISO-8601 or epoch milliseconds', () => {
    expect(parseTime('2026-11-01T00:00:00Z', '--from')).toBe(Date.UTC(2026, 10, 1))
    expect(parseTime('1764000000000', '--from')).toBe(1764000000000)
    expect(() => parseTime('yesterday', '--to')).toThrow(/--to 'yesterday'/)
  })
})

function sampleModelRaw(): Record<string, unknown> {
  return {
    model_id: 'ref-unit',
    task: 'binary_classification',
    positive_class: 'yes',
    classes: ['yes', 'no'],
    features: { numeric: ['x'], categorical: ['c'] },
  }
}
