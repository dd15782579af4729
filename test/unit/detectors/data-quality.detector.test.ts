import { describe, expect, it } from 'vitest'
import { detectDataQuality, outOfRangeShare } from '../../../services/monitor/core/detectors/data-quality.detector.ts'
import type { WindowSnapshot } from '../../../services/monitor/core/detectors/finding.ts'
import type { ReferenceProfile } from '../../../services/shared/records/reference-profile.ts'
import {
  HOUR,
  T0,
  categoricalReference,
  categoricalStats,
  detectorConfig,
  drawCategory,
  emptyReference,
  featureRow,
  gaussian,
  input,
  modelConfig,
  numericReference,
  numericStats,
  prng,
  quantileEdges,
  summary,
  windowKey,
} from './synthetic.ts'

const model = modelConfig({ features: { numeric: ['age', 'income', 'tenure'], categorical: ['plan'] } })
const PLANS: [string, number][] = [
  ['basic', 0.5],
  ['plus', 0.3],
  ['pro', 0.2],
]

function buildReference(): ReferenceProfile {
  const rand = prng(1)
  const age = Array.from({ length: 50_000 }, () => gaussian(rand, 40, 10))
  const income = Array.from({ length: 50_000 }, () => gaussian(rand, 3000, 800))
  const tenure = Array.from({ length: 50_000 }, () => rand() * 120)
  const plans = Array.from({ length: 50_000 }, () => drawCategory(rand, PLANS))
  return emptyReference({
    numeric: {
      age: numericReference(age, quantileEdges(age, 10), 0.01),
      income: numericReference(income, quantileEdges(income, 10), 0.02),
      tenure: numericReference(tenure, quantileEdges(tenure, 10), 0),
    },
    categorical: { plan: categoricalReference(plans, 0) },
  })
}

const reference = buildReference()

interface Faults {
  ageNulls?: number
  incomeConstant?: number
  tenureScale?: number
  missing?: string
  plans?: [string, number][]
  version?: string
  ageShift?: number
}

function window(seed: number, start: number, n: number, faults: Faults = {}): WindowSnapshot {
  const rand = prng(seed)
  const key = windowKey(start, { model_version: faults.version ?? 'v1' })
  const age = Array.from({ length: n }, () => (rand() < (faults.ageNulls ?? 0.01) ? null : gaussian(rand, 40 + (faults.ageShift ?? 0), 10)))
  const income = Array.from({ length: n }, () => (rand() < 0.02 ? null : (faults.incomeConstant ?? gaussian(rand, 3000, 800))))
  const tenure = Array.from({ length: n }, () => rand() * 120 * (faults.tenureScale ?? 1))
  const plans = Array.from({ length: n }, () => drawCategory(rand, faults.plans ?? PLANS))
  const features = [
    featureRow(key, 'age', numericStats(age, reference.numeric.age!.bin_edges)),
    featureRow(key, 'income', numericStats(income, reference.numeric.income!.bin_edges)),
    featureRow(key, 'tenure', numericStats(tenure, reference.numeric.tenure!.bin_edges)),
    featureRow(key, 'plan', categoricalStats(plans, reference.categorical.plan!.categories)),
  ].map((row) => (row.feature === faults.missing ? featureRow(key, row.feature, numericStats([], row.numeric!.bin_edges)) : row))
  return { summary: summary(key, { volume: n }), features }
}

/** Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7). */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x))
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x)
  return x >= 0 ? y : -y
}

const subjects = (w: WindowSnapshot, history: WindowSnapshot[] = []): string[] =>
  detectDataQuality(input(model, detectorConfig(), reference, w, history)).findings.map((f) => f.subject)

describe('data-quality detector', () => {
  it('healthy windows give no finding', () => {
    for (let s = 0; s < 10; s++) expect(subjects(window(100 + s, T0 + s * HOUR, 5000))).toEqual([])
  })

  it('a null-rate spike gives a null_rate finding naming the feature, with the increase over the reference', () => {
    const w = window(2, T0, 5000, { ageNulls: 0.3 })
    const { findings } = detectDataQuality(input(model, detectorConfig(), reference, w))
    expect(findings.map((f) => f.subject)).toEqual(['null_rate'])
    const f = findings[0]!
    expect(f.evidence.map((e) => e.name)).toEqual(['age'])
    const age = w.features.find((s) => s.feature === 'age')!.numeric!
    expect(f.observed).toBeCloseTo(age.nulls / (age.count + age.nulls) - 0.01, 12)
    expect(f.expected).toBe(0.01)
    expect(f.severity).toBe('critical')
    expect(f.evidence_query).toContain("feature IN ('age')")
  })

  it('a window below the minimum volume judges only missing features; the other checks are reported not judged', () => {
    const result = detectDataQuality(input(model, detectorConfig(), reference, window(4, T0, 150, { ageNulls: 0.3 })))
    expect(result.findings).toEqual([])
    const reason = 'window volume 150 < min_volume 200'
    // No version history proves a recent deploy, so training-serving skew is not among them.
    expect(result.not_judged).toEqual(['stuck', 'null_rate', 'out_of_range', 'unseen_categories'].map((subject) => ({ kind: 'data_quality', subject, reason })))
    expect(detectDataQuality(input(model, detectorConfig(), reference, window(4, T0, 5000))).not_judged).toEqual([])
  })

  it('a stuck feature (constant value with volume) gives a stuck finding', () => {
    const { findings } = detectDataQuality(input(model, detectorConfig(), reference, window(3, T0, 5000, { incomeConstant: 0 })))
    expect(findings.map((f) => f.subject)).toEqual(['stuck'])
    expect(findings[0]!.evidence.map((e) => e.name)).toEqual(['income'])
    expect(findings[0]!.expected).toBeCloseTo(reference.numeric.income!.std, 9)
  })

  it('values beyond the reference range give an out_of_range finding with their share', () => {
    const w = window(4, T0, 5000, { tenureScale: 1.5 })
    const { findings } = detectDataQuality(input(model, detectorConfig(), reference, w))
    expect(findings.map((f) => f.subject)).toEqual(['out_of_range'])
    // Two estimates of the share above the reference max (~120), the smaller kept: the top
    // bucket's excess over the reference (U(0, 180) puts ~40% above the top decile edge ~108,
    // against 10%) and the normal tail from the window's mean and std. The true share is 1/3.
    const stats = w.features.find((s) => s.feature === 'tenure')!.numeric!
    const ref = reference.numeric.tenure!
    const top = stats.histogram.length - 1
    const excess = stats.histogram[top]! / stats.count - ref.histogram[top]! / ref.count
    const z = (ref.max - stats.mean!) / stats.std!
    const tail = 0.5 * (1 - erf(z / Math.SQRT2))
    expect(findings[0]!.observed).toBeCloseTo(Math.min(excess, tail), 6)
    expect(findings[0]!.observed).toBeGreaterThan(0.25)
    expect(findings[0]!.observed).toBeLessThan(0.34)
    expect(findings[0]!.evidence[0]!.detail).toMatch(/^~/)
    // Inside the range on both sides: exactly 0.
    const inside = window(4, T0, 5000).features.find((s) => s.feature === 'tenure')!.numeric!
    expect(outOfRangeShare({ ...inside, min: ref.min, max: ref.max }, ref)).toEqual({ share: 0, estimated: false })
  })

  it('a feature not sent (no values, no nulls, in a window with volume) gives a missing_feature finding', () => {
    const { findings } = detectDataQuality(input(model, detectorConfig(), reference, window(5, T0, 5000, { missing: 'tenure' })))
    expect(findings.map((f) => [f.subject, f.severity, f.evidence.map((e) => e.name)])).toEqual([['missing_feature', 'critical', ['tenure']]])
  })

  it('new category values give an unseen_categories finding', () => {
    const plans: [string, number][] = [
      ['basic', 0.4],
      ['plus', 0.3],
      ['pro', 0.2],
      ['Basic', 0.1],
    ]
    const { findings } = detectDataQuality(input(model, detectorConfig(), reference, window(6, T0, 5000, { plans })))
    expect(findings.map((f) => f.subject)).toEqual(['unseen_categories'])
    expect(findings[0]!.evidence[0]!.detail).toContain('"Basic"')
  })

  it('a categorical feature past max_category_values gives a category_overflow finding with the collapsed share', () => {
    const w = window(6, T0, 5000)
    const plan = w.features.find((f) => f.feature === 'plan')!.categorical!
    // As if 1,234 distinct values holding 500 of the window's events had been collapsed.
    Object.assign(plan, {
      categories: [...plan.categories, '__other__'],
      counts: [...plan.counts, 500],
      count: plan.count + 500,
      overflow_values: 1_234,
      overflow_count: 500,
    })
    const { findings } = detectDataQuality(input(model, detectorConfig(), reference, w))
    const overflow = findings.find((f) => f.subject === 'category_overflow')!
    expect(overflow.observed).toBeCloseTo(500 / plan.count, 12)
    expect(overflow.evidence[0]!.detail).toContain('1234 values past')
    expect(overflow.runbook).toContain('max_category_values')
    // A window without overflow has no such finding.
    expect(detectDataQuality(input(model, detectorConfig(), reference, window(6, T0, 5000))).findings.map((f) => f.subject)).not.toContain('category_overflow')
  })

  it('the first windows of a new model_version that differ from the reference are training-serving skew', () => {
    const history = [window(7, T0, 5000), window(8, T0 + HOUR, 5000)]
    const deployed = window(9, T0 + 2 * HOUR, 5000, { version: 'v2', ageShift: 8 })
    // Shifted, not out of range: only the skew check speaks.
    expect(subjects(deployed, history)).toEqual(['training_serving_skew'])
    // A day later the skew window is over: drift is the drift detector's business.
    const later = window(10, T0 + 30 * HOUR, 5000, { version: 'v2', ageShift: 8 })
    expect(subjects(later, [...history, deployed])).toEqual([])
    // Without proof of a version change (no earlier version in the history) nothing is claimed.
    expect(subjects(deployed, [])).toEqual([])
  })
})
