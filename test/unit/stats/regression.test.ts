import { describe, expect, it } from 'vitest'
import { regressionMetrics } from '../../../services/shared/stats/regression.ts'
import { close, int, normal, seeded } from './support.ts'

describe('regressionMetrics', () => {
  it('matches hand values', () => {
    // errors ŷ − y: +1, −2, +3, 0
    const m = regressionMetrics([2, 4, 6, 8], [3, 2, 9, 8])!
    expect(m.mae).toBeCloseTo(6 / 4, 14)
    expect(m.rmse).toBeCloseTo(Math.sqrt(14 / 4), 14)
    expect(m.bias).toBeCloseTo(2 / 4, 14)
    expect(m.mape!).toBeCloseTo((1 / 2 + 2 / 4 + 3 / 6 + 0) / 4, 14)
  })

  it('computes MAPE over non-zero truths only, null when all truths are 0', () => {
    const m = regressionMetrics([0, 10, -5], [1, 12, -4])!
    expect(m.mape!).toBeCloseTo((2 / 10 + 1 / 5) / 2, 14)
    expect(m.mae).toBeCloseTo(4 / 3, 14)
    const zeros = regressionMetrics([0, 0], [1, -1])!
    expect(zeros.mape).toBeNull()
    expect(zeros.mae).toBe(1)
    expect(zeros.bias).toBe(0)
  })

  it('is null for no pairs, skips non-finite pairs, rejects mismatched lengths', () => {
    expect(regressionMetrics([], [])).toBeNull()
    expect(regressionMetrics([NaN], [1])).toBeNull()
    expect(regressionMetrics([1, NaN, 3], [2, 5, Infinity])).toEqual({ mae: 1, rmse: 1, mape: 1, bias: 1 })
    expect(() => regressionMetrics([1], [1, 2])).toThrow(RangeError)
  })

  it('on random data matches the textbook formulas and RMSE ≥ MAE ≥ |bias|', () => {
    const rand = seeded(51)
    for (let trial = 0; trial < 50; trial++) {
      const n = 1 + int(rand, 300)
      const truth = Array.from({ length: n }, () => normal(rand, 10, 5))
      const predicted = truth.map((y) => y + normal(rand, 0.5, 2))
      const errors = predicted.map((p, i) => p - truth[i]!)
      const m = regressionMetrics(truth, predicted)!
      expect(close(m.mae, errors.reduce((s, e) => s + Math.abs(e), 0) / n)).toBe(true)
      expect(close(m.rmse, Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / n))).toBe(true)
      expect(close(m.bias, errors.reduce((s, e) => s + e, 0) / n)).toBe(true)
      expect(close(m.mape!, errors.reduce((s, e, i) => s + Math.abs(e / truth[i]!), 0) / n)).toBe(true)
      expect(m.rmse).toBeGreaterThanOrEqual(m.mae - 1e-12)
      expect(m.mae).toBeGreaterThanOrEqual(Math.abs(m.bias) - 1e-12)
    }
  })
})
