import { describe, expect, it } from 'vitest'
import { bucketIndex, histogramCounts, quantileBinEdges } from '../../../services/shared/stats/histogram.ts'
import { int, normal, seeded, type7 } from './support.ts'

describe('quantileBinEdges', () => {
  it('puts interior edges at the type-7 quantiles (hand-computed for 1..10 in quarters)', () => {
    // h = 9p: p = .25 → 2.25 → 3 + .25; p = .5 → 4.5 → 5.5; p = .75 → 6.75 → 7.75
    expect(quantileBinEdges([10, 9, 8, 7, 6, 5, 4, 3, 2, 1], 4)).toEqual([3.25, 5.5, 7.75])
  })

  it('collapses tied quantiles into one edge', () => {
    // eight zeros and two ones: the .2, .4 and .6 quantiles are 0; h = 9 · .8 = 7.2 → 0 + .2 · (1 − 0)
    const edges = quantileBinEdges([0, 0, 0, 0, 0, 0, 0, 0, 1, 1], 5)
    expect(edges).toHaveLength(2)
    expect(edges[0]).toBe(0)
    expect(edges[1]).toBeCloseTo(0.2, 12)
    expect(quantileBinEdges([7, 7, 7], 10)).toEqual([7])
  })

  it('ignores NaN and infinities; no finite values or one bin give no edges', () => {
    expect(quantileBinEdges([NaN, Infinity, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, -Infinity], 4)).toEqual([3.25, 5.5, 7.75])
    expect(quantileBinEdges([], 10)).toEqual([])
    expect(quantileBinEdges([NaN, Infinity], 10)).toEqual([])
    expect(quantileBinEdges([1, 2, 3], 1)).toEqual([])
  })

  it('rejects a bin count that is not a positive integer', () => {
    expect(() => quantileBinEdges([1, 2], 0)).toThrow(RangeError)
    expect(() => quantileBinEdges([1, 2], 2.5)).toThrow(RangeError)
    expect(() => quantileBinEdges([1, 2], NaN)).toThrow(RangeError)
  })

  it('on random samples equals the deduplicated type-7 quantiles, strictly ascending', () => {
    const rand = seeded(11)
    for (let trial = 0; trial < 40; trial++) {
      const n = 1 + int(rand, 300)
      // rounding makes ties common
      const values = Array.from({ length: n }, () => Math.round(normal(rand, 0, 3)))
      const bins = 1 + int(rand, 20)
      const expected: number[] = []
      for (let i = 1; i < bins; i++) {
        const q = type7(values, i / bins)
        if (!expected.includes(q)) expected.push(q)
      }
      const edges = quantileBinEdges(values, bins)
      expect(edges).toHaveLength(expected.length)
      edges.forEach((e, i) => expect(e).toBeCloseTo(expected[i]!, 9))
      for (let i = 1; i < edges.length; i++) expect(edges[i]!).toBeGreaterThan(edges[i - 1]!)
    }
  })
})

describe('bucketIndex', () => {
  it('follows (-inf, e0), [e0, e1), …, [e(k-1), +inf)', () => {
    const edges = [1, 2, 3]
    const cases: [number, number][] = [
      [-Infinity, 0],
      [0, 0],
      [0.999, 0],
      [1, 1],
      [1.5, 1],
      [2, 2],
      [2.999, 2],
      [3, 3],
      [1e9, 3],
      [Infinity, 3],
    ]
    for (const [x, b] of cases) expect(bucketIndex(edges, x)).toBe(b)
    expect(bucketIndex([], 5)).toBe(0)
    expect(bucketIndex([0], 0)).toBe(1)
    expect(bucketIndex([0], -1e-300)).toBe(0)
  })

  it('sends NaN to bucket 0', () => {
    expect(bucketIndex([1, 2], NaN)).toBe(0)
  })

  it('agrees with a linear scan on random edges and values', () => {
    const rand = seeded(12)
    for (let trial = 0; trial < 200; trial++) {
      const k = int(rand, 30)
      const edges = [...new Set(Array.from({ length: k }, () => int(rand, 50)))].sort((a, b) => a - b)
      const x = int(rand, 60) - 5 + (rand() < 0.5 ? 0 : 0.5)
      const expected = edges.filter((e) => x >= e).length
      expect(bucketIndex(edges, x)).toBe(expected)
    }
  })
})

describe('histogramCounts', () => {
  it('counts per bucket by hand and skips non-finite values', () => {
    expect(histogramCounts([1, 2], [0, 1, 1, 1.5, 2, 5, NaN, Infinity, -Infinity])).toEqual([1, 3, 2])
    expect(histogramCounts([], [1, 2, 3])).toEqual([3])
    expect(histogramCounts([1, 2], [])).toEqual([0, 0, 0])
  })

  it('matches direct counting, and quantile edges split continuous data about evenly', () => {
    const rand = seeded(13)
    const values = Array.from({ length: 10_000 }, () => normal(rand))
    const edges = quantileBinEdges(values, 10)
    expect(edges).toHaveLength(9)
    const counts = histogramCounts(edges, values)
    const bounds = [-Infinity, ...edges, Infinity]
    const direct = bounds.slice(0, -1).map((lo, i) => values.filter((v) => v >= lo && v < bounds[i + 1]!).length)
    expect(counts).toEqual(direct)
    expect(counts.reduce((a, b) => a + b, 0)).toBe(values.length)
    // type-7 edges of 10 000 distinct values leave 1000 ± 1 values in each bucket
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThanOrEqual(1)
  })
})
