import { mean, quantileSorted, standardDeviation } from 'simple-statistics'
import { describe, expect, it } from 'vitest'
import { bootstrapInterval, proportionDifferenceInterval, wilsonInterval } from '../../../services/shared/stats/intervals.ts'
import { int, normal, seeded } from './support.ts'

describe('wilsonInterval', () => {
  it('gives [0.2553, 0.3662] for 81/263 at z = 1.96', () => {
    const w = wilsonInterval(81, 263)!
    expect(w.estimate).toBeCloseTo(81 / 263, 14)
    expect(w.low).toBeCloseTo(0.2553, 4)
    expect(w.high).toBeCloseTo(0.3662, 4)
  })

  it('has the closed forms z²/(n + z²) and n/(n + z²) at 0 and n successes', () => {
    const z2 = 1.96 * 1.96
    expect(wilsonInterval(0, 10)!.low).toBe(0)
    expect(wilsonInterval(0, 10)!.high).toBeCloseTo(z2 / (10 + z2), 14)
    expect(wilsonInterval(10, 10)!.low).toBeCloseTo(10 / (10 + z2), 14)
    expect(wilsonInterval(10, 10)!.high).toBe(1)
  })

  it('has endpoints solving the score equation (p̂ − p)² = z² p(1 − p)/n', () => {
    const rand = seeded(61)
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + int(rand, 1000)
      const s = int(rand, n + 1)
      const z = 0.5 + 3 * rand()
      const w = wilsonInterval(s, n, z)!
      const phat = s / n
      for (const p of [w.low, w.high]) expect(Math.abs((phat - p) ** 2 - (z * z * p * (1 - p)) / n)).toBeLessThan(1e-12)
      expect(w.low).toBeLessThanOrEqual(phat)
      expect(w.high).toBeGreaterThanOrEqual(phat)
    }
  })

  it('is null without a proportion and rejects a bad z', () => {
    expect(wilsonInterval(0, 0)).toBeNull()
    expect(wilsonInterval(3, 2)).toBeNull()
    expect(wilsonInterval(-1, 2)).toBeNull()
    expect(wilsonInterval(NaN, 2)).toBeNull()
    expect(wilsonInterval(1, Infinity)).toBeNull()
    expect(() => wilsonInterval(1, 2, -1)).toThrow(RangeError)
  })

  it('accepts fractional (expected) success counts', () => {
    const w = wilsonInterval(12.5, 20)!
    expect(w.estimate).toBe(0.625)
    expect(w.low).toBeLessThan(0.625)
  })
})

describe('proportionDifferenceInterval', () => {
  it('reproduces method 10 of Newcombe (1998), Table II', () => {
    const z = 1.959964
    const cases: [number, number, number, number, number, number][] = [
      [56, 70, 48, 80, 0.0524, 0.3339],
      [9, 10, 3, 10, 0.1705, 0.809],
      [6, 7, 2, 7, 0.0582, 0.8062],
      [5, 56, 0, 29, -0.0381, 0.1926],
      [0, 10, 0, 20, -0.1611, 0.2775],
      [0, 10, 0, 10, -0.2775, 0.2775],
      [10, 10, 0, 20, 0.6791, 1],
      [10, 10, 0, 10, 0.6075, 1],
    ]
    for (const [s1, n1, s2, n2, low, high] of cases) {
      const d = proportionDifferenceInterval(s1, n1, s2, n2, z)!
      expect(d.estimate).toBeCloseTo(s1 / n1 - s2 / n2, 14)
      expect(d.low).toBeCloseTo(low, 4)
      expect(d.high).toBeCloseTo(high, 4)
    }
  })

  it('is built from the two Wilson intervals by its definition, and contains the estimate', () => {
    const rand = seeded(62)
    for (let trial = 0; trial < 100; trial++) {
      const n1 = 1 + int(rand, 500)
      const n2 = 1 + int(rand, 500)
      const s1 = int(rand, n1 + 1)
      const s2 = int(rand, n2 + 1)
      const a = wilsonInterval(s1, n1)!
      const b = wilsonInterval(s2, n2)!
      const d = proportionDifferenceInterval(s1, n1, s2, n2)!
      const est = s1 / n1 - s2 / n2
      expect(d.low).toBeCloseTo(est - Math.hypot(s1 / n1 - a.low, b.high - s2 / n2), 12)
      expect(d.high).toBeCloseTo(est + Math.hypot(a.high - s1 / n1, s2 / n2 - b.low), 12)
      expect(d.low).toBeLessThanOrEqual(est)
      expect(d.high).toBeGreaterThanOrEqual(est)
      expect(d.low).toBeGreaterThanOrEqual(-1)
      expect(d.high).toBeLessThanOrEqual(1)
    }
  })

  it('is null when either side has no proportion', () => {
    expect(proportionDifferenceInterval(1, 0, 1, 2)).toBeNull()
    expect(proportionDifferenceInterval(1, 2, 3, 2)).toBeNull()
  })
})

describe('bootstrapInterval', () => {
  const rand = seeded(63)
  const values = Array.from({ length: 400 }, () => normal(rand, 10, 2))

  it('is reproducible for a seed and changes with the seed', () => {
    const a = bootstrapInterval(values, mean, { seed: 7, resamples: 300 })
    const b = bootstrapInterval(values, mean, { seed: 7, resamples: 300 })
    const c = bootstrapInterval(values, mean, { seed: 8, resamples: 300 })
    expect(a).toEqual(b)
    expect(c!.low).not.toBe(a!.low)
  })

  it('equals percentiles of resampled statistics drawn with mulberry32(seed)', () => {
    const small = [3, 1, 4, 1, 5, 9, 2, 6]
    const r = seeded(99)
    const stats: number[] = []
    for (let k = 0; k < 50; k++) stats.push(mean(small.map(() => small[Math.floor(r() * small.length)]!)))
    stats.sort((x, y) => x - y)
    expect(bootstrapInterval(small, mean, { seed: 99, resamples: 50, confidence: 0.9 })).toEqual({
      estimate: mean(small),
      low: quantileSorted(stats, 0.05),
      high: quantileSorted(stats, 0.95),
    })
  })

  it('for the mean of normal data is close to mean ± 1.96 s/√n', () => {
    const b = bootstrapInterval(values, mean, { seed: 1, resamples: 2000 })!
    const se = standardDeviation(values) / Math.sqrt(values.length)
    expect(b.estimate).toBeCloseTo(mean(values), 12)
    expect(Math.abs(b.low - (b.estimate - 1.96 * se))).toBeLessThan(0.25 * se)
    expect(Math.abs(b.high - (b.estimate + 1.96 * se))).toBeLessThan(0.25 * se)
  })

  it('drops non-finite resampled statistics, and is null without data', () => {
    // the mean of the positive values is undefined (NaN) on about (3/4)^4 ≈ 32% of the resamples
    const meanOfPositives = (s: number[]): number => {
      const positive = s.filter((v) => v > 0)
      return positive.length ? mean(positive) : NaN
    }
    const b = bootstrapInterval([0, 0, 0, 2], meanOfPositives, { seed: 3, resamples: 100 })!
    expect([b.estimate, b.low, b.high]).toEqual([2, 2, 2])
    expect(bootstrapInterval([], mean, { seed: 1 })).toBeNull()
    expect(bootstrapInterval([1, 2], () => NaN, { seed: 1 })).toBeNull()
  })

  it('rejects bad options', () => {
    expect(() => bootstrapInterval([1], mean, { seed: 1, resamples: 0 })).toThrow(RangeError)
    expect(() => bootstrapInterval([1], mean, { seed: 1, confidence: 1 })).toThrow(RangeError)
  })
})
