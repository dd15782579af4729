import { describe, expect, it } from 'vitest'
import { addValue, emptyMoments, mergeMoments, momentsOf, momentsStd, momentsVariance, type Moments } from '../../../services/shared/stats/moments.ts'
import { close, int, normal, seeded } from './support.ts'

/** Two-pass population statistics. */
function twoPass(values: number[]): { mean: number; m2: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length
  return { mean, m2: values.reduce((s, v) => s + (v - mean) ** 2, 0) }
}

describe('moments', () => {
  it('empty summary is all zeros with null spread', () => {
    const m = emptyMoments()
    expect(m).toEqual({ count: 0, mean: 0, m2: 0, min: 0, max: 0 })
    expect(momentsStd(m)).toBeNull()
    expect(momentsVariance(m)).toBeNull()
    expect(JSON.parse(JSON.stringify(m))).toEqual(m)
  })

  it('matches hand values', () => {
    const m = momentsOf([2, 4, 4, 4, 5, 5, 7, 9])
    expect(m).toEqual({ count: 8, mean: 5, m2: 32, min: 2, max: 9 })
    expect(momentsStd(m)).toBe(2)
    expect(momentsStd(momentsOf([3]))).toBe(0)
  })

  it('ignores non-finite values and does not mutate its input', () => {
    const start = momentsOf([1, 2])
    const snapshot = { ...start }
    expect(addValue(start, NaN)).toEqual(start)
    expect(addValue(start, Infinity)).toEqual(start)
    addValue(start, 10)
    expect(start).toEqual(snapshot)
  })

  it('merging summaries of random chunks equals the summary of the concatenation', () => {
    const rand = seeded(91)
    for (let trial = 0; trial < 50; trial++) {
      const values = Array.from({ length: int(rand, 400) }, () => normal(rand, 50, 20))
      const chunks: Moments[] = []
      for (let i = 0; i < values.length;) {
        const size = int(rand, 40)
        chunks.push(momentsOf(values.slice(i, i + size)))
        i += size
      }
      if (rand() < 0.5) chunks.reverse()
      const merged = chunks.reduce(mergeMoments, emptyMoments())
      expect(merged.count).toBe(values.length)
      if (values.length === 0) {
        expect(merged).toEqual(emptyMoments())
        continue
      }
      const expected = twoPass(values)
      expect(close(merged.mean, expected.mean, 1e-12)).toBe(true)
      expect(close(merged.m2, expected.m2, 1e-10)).toBe(true)
      expect(merged.min).toBe(Math.min(...values))
      expect(merged.max).toBe(Math.max(...values))
      expect(close(momentsStd(merged)!, Math.sqrt(expected.m2 / values.length), 1e-10)).toBe(true)
    }
  })

  it('merging with an empty summary returns an equal copy', () => {
    const m = momentsOf([1, 2, 3])
    const merged = mergeMoments(emptyMoments(), m)
    expect(merged).toEqual(m)
    expect(merged).not.toBe(m)
    expect(mergeMoments(m, emptyMoments())).toEqual(m)
  })

  it('stays accurate for a large offset with a small spread', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 1e9 + (i % 10))
    const expected = twoPass(values)
    const m = mergeMoments(momentsOf(values.slice(0, 300)), momentsOf(values.slice(300)))
    expect(close(m.m2, expected.m2, 1e-6)).toBe(true)
    expect(momentsVariance(m)).toBeCloseTo(8.25, 6)
  })
})
