import { describe, expect, it } from 'vitest'
import { categoricalFeatureDrift, detectDrift, measureDrift, numericFeatureDrift } from '../../../services/monitor/core/detectors/drift.detector.ts'
import { PREDICTION_SCORE, type FeatureWindowStats } from '../../../services/shared/records/window-metrics.ts'
import type { ReferenceProfile } from '../../../services/shared/records/reference-profile.ts'
import {
  T0,
  HOUR,
  categoricalReference,
  categoricalStats,
  detectorConfig,
  drawCategory,
  emptyReference,
  featureRow,
  gaussian,
  input,
  ksOf,
  modelConfig,
  numericReference,
  numericStats,
  prng,
  psiOf,
  quantileEdges,
  summary,
  windowKey,
} from './synthetic.ts'

const FEATURES = Array.from({ length: 10 }, (_, i) => `x${i}`)
const mean = (i: number): number => i * 3 - 10
const sd = (i: number): number => 1 + i / 4
const COUNTRIES: [string, number][] = [
  ['DE', 0.4],
  ['FR', 0.3],
  ['US', 0.2],
  ['PL', 0.1],
]

const model = modelConfig({ features: { numeric: FEATURES, categorical: ['country'] } })

/** Reference profile from 100,000 draws per feature, decile bins. */
function buildReference(): ReferenceProfile {
  const rand = prng(1)
  const numeric: ReferenceProfile['numeric'] = {}
  FEATURES.forEach((f, i) => {
    const values = Array.from({ length: 100_000 }, () => gaussian(rand, mean(i), sd(i)))
    numeric[f] = numericReference(values, quantileEdges(values, 10))
  })
  const scores = Array.from({ length: 100_000 }, () => rand() ** 2)
  const countries = Array.from({ length: 100_000 }, () => drawCategory(rand, COUNTRIES))
  return emptyReference({
    numeric,
    categorical: { country: categoricalReference(countries) },
    prediction: { [PREDICTION_SCORE]: numericReference(scores, quantileEdges(scores, 10)) },
  })
}

const reference = buildReference()

interface Shift {
  /** Mean shift per feature, in standard deviations. */
  shifts?: Record<string, number>
  /** Score drawn as rand^power instead of rand^2. */
  scorePower?: number
  countries?: [string, number][]
}

function window(seed: number, start: number, n: number, shift: Shift = {}): { summary: ReturnType<typeof summary>; features: FeatureWindowStats[] } {
  const rand = prng(seed)
  const key = windowKey(start)
  const features: FeatureWindowStats[] = FEATURES.map((f, i) => {
    const delta = (shift.shifts?.[f] ?? 0) * sd(i)
    const values = Array.from({ length: n }, () => gaussian(rand, mean(i) + delta, sd(i)))
    return featureRow(key, f, numericStats(values, reference.numeric[f]!.bin_edges))
  })
  const countries = Array.from({ length: n }, () => drawCategory(rand, shift.countries ?? COUNTRIES))
  features.push(featureRow(key, 'country', categoricalStats(countries, reference.categorical.country!.categories)))
  const scores = Array.from({ length: n }, () => rand() ** (shift.scorePower ?? 2))
  features.push(featureRow(key, PREDICTION_SCORE, numericStats(scores, (reference.prediction[PREDICTION_SCORE] as { bin_edges: number[] }).bin_edges)))
  return { summary: summary(key, { volume: n }), features }
}

describe('drift detector', () => {
  it('drift injected in 2 of 10 numeric features gives one finding naming exactly those two, ranked by effect', () => {
    const config = detectorConfig()
    const current = window(7, T0, 10_000, { shifts: { x3: 1, x7: 0.6 } })
    const { findings } = detectDrift(input(model, config, reference, current))
    expect(findings).toHaveLength(1)
    const f = findings[0]!
    expect(f.kind).toBe('drift')
    expect(f.subject).toBe('features')
    expect(f.evidence.map((e) => e.name)).toEqual(['x3', 'x7'])
    expect(f.evidence[0]!.score).toBeGreaterThan(f.evidence[1]!.score)
    expect(f.severity).toBe('critical')
    expect(f.summary).toContain('drift in 2 of 11 features')
    // The reported effect is the top feature's decisive measure, checked against an independent computation.
    const x3 = current.features.find((s) => s.feature === 'x3')!.numeric!.histogram
    const independent = { psi: psiOf(reference.numeric.x3!.histogram, x3), ks: ksOf(reference.numeric.x3!.histogram, x3) }
    expect(['psi', 'ks', 'js_distance']).toContain(f.measure)
    if (f.measure === 'psi') expect(f.observed).toBeCloseTo(independent.psi, 6)
    if (f.measure === 'ks') expect(f.observed).toBeCloseTo(independent.ks, 6)
    expect(f.evidence_query).toContain('FROM driftgate.window_feature_stats FINAL')
    expect(f.evidence_query).toContain("feature IN ('x3', 'x7')")
  })

  it('feature importance reorders the drifted features', () => {
    const config = detectorConfig({ drift: { importance: { x7: 5 } } })
    const { findings } = detectDrift(input(model, config, reference, window(7, T0, 10_000, { shifts: { x3: 1, x7: 0.6 } })))
    expect(findings[0]!.evidence.map((e) => e.name)).toEqual(['x7', 'x3'])
  })

  it('50 stationary windows of 10,000 draws from the reference distribution give no drift finding', () => {
    const config = detectorConfig()
    let worstPsi = 0
    for (let w = 0; w < 50; w++) {
      const current = window(1000 + w, T0 + w * HOUR, 10_000)
      const { findings } = detectDrift(input(model, config, reference, current))
      expect(findings).toEqual([])
      for (const s of current.features)
        if (s.numeric && s.feature !== PREDICTION_SCORE) worstPsi = Math.max(worstPsi, psiOf(reference.numeric[s.feature]!.histogram, s.numeric.histogram))
    }
    // Sampling noise alone: expected PSI (k - 1) (1/n + 1/N) ~ 0.001, far below the 0.2 effect threshold.
    expect(worstPsi).toBeLessThan(0.01)
  })

  it('the measures match independent PSI and KS computations on the same histograms', () => {
    const current = window(3, T0, 5_000, { shifts: { x2: 0.3 } })
    const stats = current.features.find((s) => s.feature === 'x2')!.numeric!
    const d = numericFeatureDrift(detectorConfig(), 'x2', reference.numeric.x2!, stats)!
    const byName = Object.fromEntries(d.measures.map((m) => [m.measure, m.value]))
    expect(byName.psi).toBeCloseTo(psiOf(reference.numeric.x2!.histogram, stats.histogram), 6)
    expect(byName.ks).toBeCloseTo(ksOf(reference.numeric.x2!.histogram, stats.histogram), 6)
  })

  it('a shifted prediction score gives a prediction_drift finding, apart from feature drift', () => {
    const { findings } = detectDrift(input(model, detectorConfig(), reference, window(11, T0, 10_000, { scorePower: 1 })))
    expect(findings.map((f) => [f.kind, f.subject])).toEqual([['prediction_drift', 'prediction']])
    expect(findings[0]!.evidence.map((e) => e.name)).toEqual([PREDICTION_SCORE])
  })

  it("a categorical shift is found by JS distance and Cramér's V; V does not depend on the reference size", () => {
    const shifted: [string, number][] = [
      ['DE', 0.15],
      ['FR', 0.3],
      ['US', 0.45],
      ['PL', 0.1],
    ]
    const { findings } = detectDrift(input(model, detectorConfig(), reference, window(5, T0, 10_000, { countries: shifted })))
    expect(findings).toHaveLength(1)
    expect(findings[0]!.evidence.map((e) => e.name)).toEqual(['country'])

    const current = categoricalStats(
      ['DE', 'DE', 'FR', 'US', 'US', 'US', 'PL', 'FR', 'US', 'DE'].flatMap((c) => Array<string>(100).fill(c)),
      [],
    )
    const small = { categories: ['DE', 'FR', 'PL', 'US'], counts: [400, 300, 100, 200] }
    const big = { categories: small.categories, counts: small.counts.map((c) => c * 1000) }
    const v = (ref: typeof small): number =>
      categoricalFeatureDrift(detectorConfig(), 'country', ref, current)!.measures.find((m) => m.measure === 'cramers_v')!.value
    expect(v(big)).toBeCloseTo(v(small), 9)
    // Independent: V = sqrt(chi2 / (2n)) on the 2 x 4 table with the reference rescaled to n = 1000.
    const ref = [400, 300, 100, 200]
    const cur = [300, 200, 100, 400]
    let chi2 = 0
    for (let i = 0; i < 4; i++) {
      const col = ref[i]! + cur[i]!
      for (const obs of [ref[i]!, cur[i]!]) chi2 += (obs - col / 2) ** 2 / (col / 2)
    }
    expect(v(small)).toBeCloseTo(Math.sqrt(chi2 / 2000), 6)
  })

  it('unseen categories count as drift through the unseen rate', () => {
    const withNew: [string, number][] = [
      ['DE', 0.36],
      ['FR', 0.27],
      ['US', 0.18],
      ['PL', 0.09],
      ['de', 0.1],
    ]
    const current = window(9, T0, 10_000, { countries: withNew })
    const d = categoricalFeatureDrift(
      detectorConfig(),
      'country',
      reference.categorical.country!,
      current.features.find((s) => s.feature === 'country')!.categorical!,
    )!
    const unseen = d.measures.find((m) => m.measure === 'unseen_rate')!.value
    const stats = current.features.find((s) => s.feature === 'country')!.categorical!
    expect(unseen).toBeCloseTo(stats.counts[stats.categories.indexOf('de')]! / stats.count, 12)
    expect(d.effect).toBeGreaterThanOrEqual(1)
  })

  it('a window below the minimum volume is skipped with a reason, not judged', () => {
    const result = detectDrift(input(model, detectorConfig(), reference, window(13, T0, 150, { shifts: { x1: 3 } })))
    expect(result.findings).toEqual([])
    expect(result.skipped[0]!.reason).toMatch(/volume 150 < min_volume 200/)
    // Not judged is not clean: the alert fold skips the window for these identities.
    const reason = 'window volume 150 < min_volume 200'
    expect(result.not_judged).toEqual([
      { kind: 'drift', subject: 'features', reason },
      { kind: 'prediction_drift', subject: 'prediction', reason },
    ])
    expect(detectDrift(input(model, detectorConfig(), reference, window(13, T0, 10_000))).not_judged?.filter((n) => n.kind === 'drift')).toEqual([])
  })

  it('compares with the previous window when asked', () => {
    const config = detectorConfig({ drift: { compare_trailing: true } })
    const previous = window(21, T0, 10_000)
    const current = window(22, T0 + HOUR, 10_000, { shifts: { x5: 1 } })
    const subjects = detectDrift(input(model, config, reference, current, [previous])).findings.map((f) => f.subject)
    expect(subjects).toEqual(['features', 'features_vs_previous'])
  })

  it('a change that stands out of the noise but is demonstrably below the minimum effect does not drift; the same change does with a lower minimum', () => {
    // 0.05 sd at 100,000 rows: p-value tiny, whole interval far below 0.25 sd and 10 points of mix.
    const current = window(31, T0, 100_000, { shifts: { x4: 0.05 } })
    const stats = current.features.find((s) => s.feature === 'x4')!.numeric!
    const d = numericFeatureDrift(detectorConfig(), 'x4', reference.numeric.x4!, stats)!
    expect(d.significant).toBe(true)
    expect(d.effect).toBeLessThan(1)
    const shift = d.measures.find((m) => m.measure === 'mean_shift')!
    expect(shift.value).toBeCloseTo(0.05, 1)
    expect(shift.upper!).toBeLessThan(0.25)
    const strict = detectorConfig({ drift: { features: { x4: { min_effect: { mean_shift: 0.04 } } } } })
    const flagged = numericFeatureDrift(strict, 'x4', reference.numeric.x4!, stats)!
    expect(flagged.effect).toBeGreaterThanOrEqual(1)
    expect(flagged.decisive.measure).toBe('mean_shift')
  })

  it('a categorical window that lumped values into __other__ is not judged on its mix', () => {
    const stats = categoricalStats(['DE', 'FR'], ['DE', 'FR', 'US', 'PL'])
    const lumped = {
      ...stats,
      categories: [...stats.categories, '__other__'],
      counts: [...stats.counts, 5],
      count: stats.count + 5,
      overflow_values: 2,
      overflow_count: 5,
    }
    const result = measureDrift(detectorConfig({ min_volume: 1 }), [
      { feature: 'country', numeric: null, categorical: { baseline: reference.categorical.country!, window: lumped } },
    ])
    expect(result.drifts).toEqual([])
    expect(result.skipped).toEqual(['country (more distinct values than max_category_values)'])
  })
})
