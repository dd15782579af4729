import { erf } from 'simple-statistics'
import { describe, expect, it } from 'vitest'
import { alignCategories, chiSquaredTest, jensenShannonDistance, ksStatisticFromHistograms, psi } from '../../../services/shared/stats/drift.ts'
import { bucketIndex } from '../../../services/shared/stats/histogram.ts'
import { close, counts, int, normal, seeded } from './support.ts'

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)

/** PSI written out from its definition, with proportions floored at eps. */
function psiLonghand(r: number[], c: number[], eps = 1e-4): number {
  const rt = sum(r)
  const ct = sum(c)
  let total = 0
  for (let i = 0; i < r.length; i++) {
    const ri = Math.max(r[i]! / rt, eps)
    const ci = Math.max(c[i]! / ct, eps)
    total += (ci - ri) * Math.log(ci / ri)
  }
  return total
}

/** JS distance from KL divergences, natural logs converted to bits at the end. */
function jsLonghand(r: number[], c: number[]): number {
  const p = r.map((x) => x / sum(r))
  const q = c.map((x) => x / sum(c))
  const m = p.map((x, i) => (x + q[i]!) / 2)
  const kl = (a: number[]): number => a.reduce((s, x, i) => (x === 0 ? s : s + x * Math.log(x / m[i]!)), 0)
  return Math.sqrt((kl(p) / 2 + kl(q) / 2) / Math.LN2)
}

describe('psi', () => {
  it('matches a hand computation: proportions .1 .2 .3 .4 vs .2 .2 .2 .4 give 0.1 ln 2 + 0.1 ln 1.5 = 0.1 ln 3', () => {
    expect(psi([10, 20, 30, 40], [20, 20, 20, 40])).toBeCloseTo(0.1 * Math.log(3), 14)
  })

  it('floors an empty bin at epsilon', () => {
    // reference .5 .5 0 → .5 .5 1e-4; current .5 .49 .01
    const expected = (0.49 - 0.5) * Math.log(0.49 / 0.5) + (0.01 - 1e-4) * Math.log(0.01 / 1e-4)
    expect(psi([50, 50, 0], [50, 49, 1])).toBeCloseTo(expected, 14)
    expect(psi([50, 50, 0], [50, 49, 1], 1e-3)).toBeCloseTo((0.49 - 0.5) * Math.log(0.49 / 0.5) + (0.01 - 1e-3) * Math.log(0.01 / 1e-3), 14)
    // empty on both sides: no contribution
    expect(psi([10, 0, 30], [10, 0, 30])).toBe(0)
  })

  it('reads a shorter vector as zero-padded', () => {
    expect(psi([10, 20], [10, 20, 5])).toBeCloseTo(psiLonghand([10, 20, 0], [10, 20, 5]), 14)
  })

  it('is null when either side is empty, and rejects bad counts and epsilon', () => {
    expect(psi([0, 0], [1, 2])).toBeNull()
    expect(psi([1, 2], [])).toBeNull()
    expect(() => psi([1, -1], [1, 1])).toThrow(RangeError)
    expect(() => psi([1, NaN], [1, 1])).toThrow(RangeError)
    expect(() => psi([1, 1], [1, 1], 0)).toThrow(RangeError)
  })

  it('on random histograms: equals the longhand formula, is symmetric and non-negative, and 0 for proportional counts', () => {
    const rand = seeded(31)
    for (let trial = 0; trial < 200; trial++) {
      const k = 1 + int(rand, 15)
      const r = counts(rand, k, 50)
      const c = counts(rand, k, 50)
      if (sum(r) === 0 || sum(c) === 0) continue
      const value = psi(r, c)!
      expect(close(value, psiLonghand(r, c), 1e-12)).toBe(true)
      expect(value).toBeGreaterThanOrEqual(0)
      expect(close(psi(c, r)!, value, 1e-12)).toBe(true)
      const scale = 1 + int(rand, 7)
      expect(
        psi(
          r,
          r.map((x) => x * scale),
        ),
      ).toBeCloseTo(0, 12)
    }
  })
})

describe('jensenShannonDistance', () => {
  it('is 0 for identical proportions and 1 for disjoint support', () => {
    expect(jensenShannonDistance([3, 5, 2], [6, 10, 4])).toBeCloseTo(0, 12)
    expect(jensenShannonDistance([1, 0], [0, 1])).toBe(1)
    expect(jensenShannonDistance([4, 4, 0, 0], [0, 0, 1, 9])).toBe(1)
  })

  it('matches a hand computation for (½, ½) vs (1, 0)', () => {
    // m = (¾, ¼); KL(p‖m) = ½ log2(2/3) + ½ log2 2, KL(q‖m) = log2(4/3)
    const jsd = 0.5 * (0.5 * Math.log2(2 / 3) + 0.5) + 0.5 * Math.log2(4 / 3)
    expect(jensenShannonDistance([1, 1], [1, 0])).toBeCloseTo(Math.sqrt(jsd), 14)
    expect(Math.sqrt(jsd)).toBeCloseTo(0.557923, 6)
  })

  it('is null for an empty side', () => {
    expect(jensenShannonDistance([0], [1])).toBeNull()
    expect(jensenShannonDistance([1], [0, 0])).toBeNull()
  })

  it('on random histograms: matches the longhand divergence, symmetric, in [0, 1], and satisfies the triangle inequality', () => {
    const rand = seeded(32)
    for (let trial = 0; trial < 200; trial++) {
      const k = 1 + int(rand, 12)
      const [a, b, c] = [counts(rand, k, 20), counts(rand, k, 20), counts(rand, k, 20)]
      if (sum(a) === 0 || sum(b) === 0 || sum(c) === 0) continue
      const ab = jensenShannonDistance(a, b)!
      expect(close(ab, jsLonghand(a, b), 1e-10)).toBe(true)
      expect(jensenShannonDistance(b, a)).toBeCloseTo(ab, 14)
      expect(ab).toBeGreaterThanOrEqual(0)
      expect(ab).toBeLessThanOrEqual(1)
      expect(ab).toBeLessThanOrEqual(jensenShannonDistance(a, c)! + jensenShannonDistance(c, b)! + 1e-12)
    }
  })
})

describe('ksStatisticFromHistograms', () => {
  it('is the largest CDF gap after each bucket (hand example)', () => {
    // CDFs .25 .5 1 vs .5 .75 1: gaps .25 .25 0
    expect(ksStatisticFromHistograms([1, 1, 2], [2, 1, 1])).toBeCloseTo(0.25, 14)
    expect(ksStatisticFromHistograms([1, 0], [0, 1])).toBe(1)
    expect(ksStatisticFromHistograms([0, 0], [0, 1])).toBeNull()
  })

  it('equals the raw two-sample statistic when every distinct value has its own bucket, and bounds it from below on coarser bins', () => {
    const rand = seeded(33)
    for (let trial = 0; trial < 50; trial++) {
      const ref = Array.from({ length: 20 + int(rand, 200) }, () => Math.round(normal(rand, 0, 5)))
      const cur = Array.from({ length: 20 + int(rand, 200) }, () => Math.round(normal(rand, rand() * 3, 5)))
      // raw KS by direct summation: max over all observed x of |#{≤ x}/n − #{≤ x}/m|
      let raw = 0
      for (const x of [...ref, ...cur]) {
        const fr = ref.filter((v) => v <= x).length / ref.length
        const fc = cur.filter((v) => v <= x).length / cur.length
        raw = Math.max(raw, Math.abs(fr - fc))
      }
      const hist = (edges: number[], values: number[]): number[] => {
        const h = new Array<number>(edges.length + 1).fill(0)
        for (const v of values) h[bucketIndex(edges, v)]!++
        return h
      }
      const fine = [...new Set([...ref, ...cur])].sort((a, b) => a - b)
      expect(ksStatisticFromHistograms(hist(fine, ref), hist(fine, cur))).toBeCloseTo(raw, 12)
      const coarse = fine.filter((_, i) => i % 3 === 1)
      const ks = ksStatisticFromHistograms(hist(coarse, ref), hist(coarse, cur))!
      expect(ks).toBeLessThanOrEqual(raw + 1e-12)
      // and equals the gap at the coarse edges counted directly
      let atEdges = 0
      for (const e of coarse) atEdges = Math.max(atEdges, Math.abs(ref.filter((v) => v < e).length / ref.length - cur.filter((v) => v < e).length / cur.length))
      expect(ks).toBeCloseTo(atEdges, 12)
    }
  })
})

describe('chiSquaredTest', () => {
  it('matches a hand-computed 2 × 2 table', () => {
    // rows (10, 20) and (30, 40): expected (12, 18) and (28, 42); χ² = 4/12 + 4/18 + 4/28 + 4/42
    const chi2 = 4 / 12 + 4 / 18 + 4 / 28 + 4 / 42
    const result = chiSquaredTest([10, 20], [30, 40])!
    expect(result.statistic).toBeCloseTo(chi2, 12)
    expect(result.dof).toBe(1)
    // dof 1: P(χ² ≥ x) = 1 − erf(√(x/2))
    expect(result.pValue).toBeCloseTo(1 - erf(Math.sqrt(chi2 / 2)), 6)
    expect(result.cramersV).toBeCloseTo(Math.sqrt(chi2 / 100), 12)
  })

  it('uses exp(−χ²/2) for three categories (dof 2)', () => {
    const result = chiSquaredTest([50, 30, 20], [30, 30, 40])!
    expect(result.dof).toBe(2)
    expect(result.pValue).toBeCloseTo(Math.exp(-result.statistic / 2), 12)
  })

  it('drops categories empty on both sides', () => {
    const withEmpty = chiSquaredTest([10, 0, 20, 0], [30, 0, 40])!
    const without = chiSquaredTest([10, 20], [30, 40])!
    expect(withEmpty).toEqual(without)
  })

  it('gives V = 1 for disjoint categories and χ² = 0, p = 1 for proportional rows', () => {
    expect(chiSquaredTest([10, 0], [0, 5])!.cramersV).toBeCloseTo(1, 12)
    const same = chiSquaredTest([10, 20, 30], [20, 40, 60])!
    expect(same.statistic).toBeCloseTo(0, 12)
    expect(same.pValue).toBeCloseTo(1, 12)
    expect(same.cramersV).toBeCloseTo(0, 6)
  })

  it('is null with an empty side or fewer than two categories', () => {
    expect(chiSquaredTest([0, 0], [1, 2])).toBeNull()
    expect(chiSquaredTest([5, 0], [7, 0])).toBeNull()
    expect(chiSquaredTest([], [])).toBeNull()
  })

  it('on random tables equals Σ (O − E)² / E over the full 2 × k table', () => {
    const rand = seeded(34)
    for (let trial = 0; trial < 200; trial++) {
      const k = 2 + int(rand, 10)
      const table = [counts(rand, k, 100), counts(rand, k, 100)]
      const rowTotals = table.map(sum)
      const colTotals = table[0]!.map((_, j) => table[0]![j]! + table[1]![j]!)
      const n = sum(rowTotals)
      const kept = colTotals.filter((t) => t > 0).length
      const result = chiSquaredTest(table[0]!, table[1]!)
      if (rowTotals[0] === 0 || rowTotals[1] === 0 || kept < 2) {
        expect(result).toBeNull()
        continue
      }
      let chi2 = 0
      for (let i = 0; i < 2; i++)
        for (let j = 0; j < k; j++) {
          if (colTotals[j] === 0) continue
          const e = (rowTotals[i]! * colTotals[j]!) / n
          chi2 += (table[i]![j]! - e) ** 2 / e
        }
      expect(close(result!.statistic, chi2, 1e-10)).toBe(true)
      expect(result!.dof).toBe(kept - 1)
      expect(result!.pValue).toBeGreaterThanOrEqual(0)
      expect(result!.pValue).toBeLessThanOrEqual(1)
      expect(result!.cramersV).toBeLessThanOrEqual(1)
    }
  })
})

describe('alignCategories', () => {
  it('keeps reference order, appends new categories sorted, fills zeros', () => {
    expect(alignCategories(['b', 'a', 'c'], [1, 2, 3], ['z', 'a', 'd', 'b'], [4, 5, 6, 7])).toEqual({
      categories: ['b', 'a', 'c', 'd', 'z'],
      reference: [1, 2, 3, 0, 0],
      current: [7, 5, 0, 6, 4],
    })
  })

  it('sums a category listed twice and treats missing counts as 0', () => {
    expect(alignCategories(['a', 'a'], [1, 2], ['b', 'b', 'c'], [3, 4])).toEqual({ categories: ['a', 'b', 'c'], reference: [3, 0, 0], current: [0, 7, 0] })
  })

  it('handles empty sides', () => {
    expect(alignCategories([], [], [], [])).toEqual({ categories: [], reference: [], current: [] })
    expect(alignCategories([], [], ['y', 'x'], [1, 2])).toEqual({ categories: ['x', 'y'], reference: [0, 0], current: [2, 1] })
  })
})
