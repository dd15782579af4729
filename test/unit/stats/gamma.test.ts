import { erf } from 'simple-statistics'
import { describe, expect, it } from 'vitest'
import { chiSquaredSurvival, lowerRegularizedGamma, upperRegularizedGamma } from '../../../services/shared/stats/gamma.ts'
import { seeded } from './support.ts'

/** Closed form for even dof = 2k: P(χ² ≥ x) = e^(−x/2) Σ_{i<k} (x/2)^i / i!. */
function evenDofSurvival(x: number, dof: number): number {
  const y = x / 2
  const k = dof / 2
  let term = Math.exp(-y)
  let sum = 0
  for (let i = 0; i < k; i++) {
    sum += term
    term = (term * y) / (i + 1)
  }
  return sum
}

describe('chi-squared survival function', () => {
  it('matches published values', () => {
    expect(chiSquaredSurvival(3.84, 1)).toBeCloseTo(0.05004, 5)
    expect(chiSquaredSurvival(10, 5)).toBeCloseTo(0.07524, 5)
    expect(chiSquaredSurvival(20, 10)).toBeCloseTo(0.02925, 5)
    // upper 5% and 1% points of standard chi-squared tables
    const table: [number, number, number][] = [
      [3.841459, 1, 0.05],
      [6.634897, 1, 0.01],
      [11.070498, 5, 0.05],
      [15.086272, 5, 0.01],
      [18.307038, 10, 0.05],
      [23.209251, 10, 0.01],
      [43.772972, 30, 0.05],
      [124.342113, 100, 0.05],
      [135.806723, 100, 0.01],
    ]
    for (const [x, dof, p] of table) expect(Math.abs(chiSquaredSurvival(x, dof) - p)).toBeLessThan(1e-7)
  })

  it('equals the closed form for even degrees of freedom, in both the series and the continued-fraction region', () => {
    const rand = seeded(21)
    for (let trial = 0; trial < 300; trial++) {
      const dof = 2 * (1 + Math.floor(rand() * 30))
      const x = rand() * 3 * dof
      const expected = evenDofSurvival(x, dof)
      expect(Math.abs(chiSquaredSurvival(x, dof) - expected)).toBeLessThan(1e-12 + 1e-10 * expected)
    }
  })

  it('keeps relative precision far in the tail', () => {
    const expected = evenDofSurvival(200, 4)
    expect(expected).toBeLessThan(1e-40)
    expect(Math.abs(chiSquaredSurvival(200, 4) / expected - 1)).toBeLessThan(1e-9)
  })

  it('is close to the Wilson–Hilferty normal approximation for very many degrees of freedom', () => {
    for (const dof of [20_000, 200_000]) {
      for (const x of [dof * 0.99, dof, dof * 1.01]) {
        const v = 2 / (9 * dof)
        const zScore = (Math.cbrt(x / dof) - (1 - v)) / Math.sqrt(v)
        const approx = 0.5 * (1 - erf(zScore / Math.SQRT2))
        expect(Math.abs(chiSquaredSurvival(x, dof) - approx)).toBeLessThan(1e-3)
      }
    }
  })

  it('is 1 at and below 0 and rejects non-positive dof', () => {
    expect(chiSquaredSurvival(0, 3)).toBe(1)
    expect(chiSquaredSurvival(-1, 3)).toBe(1)
    expect(chiSquaredSurvival(Infinity, 3)).toBe(0)
    expect(() => chiSquaredSurvival(1, 0)).toThrow(RangeError)
  })
})

describe('regularized incomplete gamma', () => {
  it('P(1, x) = 1 − e^(−x) and P(1/2, x) = erf(√x)', () => {
    for (const x of [0.01, 0.5, 1, 2, 5, 10, 30]) {
      expect(Math.abs(lowerRegularizedGamma(1, x) - (1 - Math.exp(-x)))).toBeLessThan(1e-13)
      expect(Math.abs(lowerRegularizedGamma(0.5, x) - erf(Math.sqrt(x)))).toBeLessThan(1e-6)
    }
  })

  it('P + Q = 1 and both lie in [0, 1]', () => {
    const rand = seeded(22)
    for (let trial = 0; trial < 200; trial++) {
      const a = 0.05 + rand() * 50
      const x = rand() * 100
      const p = lowerRegularizedGamma(a, x)
      const q = upperRegularizedGamma(a, x)
      expect(p).toBeGreaterThanOrEqual(0)
      expect(q).toBeLessThanOrEqual(1)
      expect(Math.abs(p + q - 1)).toBeLessThan(1e-12)
    }
  })

  it('rejects a non-positive shape and NaN', () => {
    expect(() => upperRegularizedGamma(0, 1)).toThrow(RangeError)
    expect(() => lowerRegularizedGamma(-1, 1)).toThrow(RangeError)
    expect(() => upperRegularizedGamma(1, NaN)).toThrow(RangeError)
    expect(lowerRegularizedGamma(2, 0)).toBe(0)
    expect(upperRegularizedGamma(2, -3)).toBe(1)
  })
})
