import { describe, expect, it } from 'vitest'
import { binomialMeanAbsoluteDeviation, meanShift, mixShift, mulberry32, normalQuantile, normalSurvival } from '../../../services/shared/stats/index.ts'

describe('effect sizes with their noise', () => {
  it('normalQuantile inverts normalSurvival, far into the tail', () => {
    for (const p of [1e-9, 2.5e-5, 0.001, 0.025, 0.3, 0.5, 0.8, 0.999]) expect(normalSurvival(normalQuantile(1 - p)) / p).toBeCloseTo(1, 6)
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5)
    expect(() => normalQuantile(1)).toThrow(RangeError)
  })

  it('binomialMeanAbsoluteDeviation matches the sum over the distribution', () => {
    for (const [n, p] of [
      [200, 0.002],
      [200, 0.3],
      [37, 0.5],
      [1000, 0.0001],
    ] as const) {
      let pmf = (1 - p) ** n
      let mad = 0
      for (let x = 0; x <= n; x++) {
        mad += pmf * Math.abs(x - n * p)
        pmf *= ((n - x) / (x + 1)) * (p / (1 - p))
      }
      expect(binomialMeanAbsoluteDeviation(n, p)).toBeCloseTo(mad, 9)
    }
    expect(binomialMeanAbsoluteDeviation(10, 0)).toBe(0)
  })

  it('meanShift is in reference sds, with the noise of both means', () => {
    const s = meanShift({ mean: 10, std: 2, count: 10_000 }, { mean: 10.5, std: 2, count: 400 })!
    expect(s.estimate).toBeCloseTo(0.25, 12)
    expect(s.se).toBeCloseTo(Math.sqrt(4 / 400 + 4 / 10_000) / 2, 12)
    expect(meanShift({ mean: 0, std: 0, count: 10 }, { mean: 1, std: 1, count: 10 })).toBeNull()
  })

  it("mixShift's noise is the plug-in total variation of windows drawn from the reference; its estimate removes it", () => {
    const rand = mulberry32(5)
    const k = 500
    const reference = Array.from({ length: k }, (_, i) => Math.round(50_000 / (i + 1) / 6.79))
    const total = reference.reduce((a, b) => a + b, 0)
    const cumulative: number[] = []
    reference.reduce((s, c) => (cumulative.push(s + c), s + c), 0)
    const draw = (n: number): number[] => {
      const counts = new Array<number>(k).fill(0)
      for (let i = 0; i < n; i++) {
        const u = rand() * total
        counts[cumulative.findIndex((c) => c > u)]!++
      }
      return counts
    }
    let raw = 0
    let estimate = 0
    let noise = 0
    for (let w = 0; w < 40; w++) {
      const m = mixShift(reference, draw(2_000), { ordered: false })!
      raw += m.raw / 40
      estimate += m.estimate / 40
      noise = m.noise
    }
    expect(raw).toBeGreaterThan(0.1)
    expect(noise / raw).toBeCloseTo(1, 1)
    expect(estimate).toBeLessThan(0.1)
  })

  it('mixShift merges sparse cells before its test and never tests a single group', () => {
    const m = mixShift([1000, 1000, 1, 1, 1], [50, 40, 0, 3, 0], { ordered: false })!
    expect(m.groups).toBe(2)
    expect(m.pValue).toBeGreaterThan(0.01)
    expect(mixShift([1000], [10], { ordered: false })!.pValue).toBeNull()
    expect(mixShift([0, 0], [1, 2], { ordered: true })).toBeNull()
  })
})
