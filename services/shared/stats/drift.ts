// Distances between two distributions given as counts on the same bins (numeric features,
// histogrammed on the reference profile's quantile edges) or the same categories (after
// `alignCategories`). Position i of both vectors is the same bin; a vector shorter than the
// other is read as having zero counts in the missing positions. Counts need not be integers
// (a reference rescaled to the current volume is fine) but must be finite and non-negative;
// anything else throws a RangeError, since it can only come from a bug upstream.
//
// Every function returns null when either side has a zero total: there is no distribution to
// compare, and a number (0 or otherwise) would read as a verdict.

import { chiSquaredSurvival } from './gamma.ts'

function totalOf(name: string, counts: number[]): number {
  let sum = 0
  for (const c of counts) {
    if (!Number.isFinite(c) || c < 0) throw new RangeError(`${name}: counts must be finite and non-negative, got ${c}`)
    sum += c
  }
  return sum
}

/**
 * Population Stability Index: Σ_i (c_i − r_i) · ln(c_i / r_i) over the proportions r_i, c_i of
 * each bin on the reference and current side. Always ≥ 0; 0 for identical proportions.
 * Rules of thumb: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 major shift.
 *
 * A bin empty on one side would make the index infinite, so every proportion is floored at
 * `epsilon` before the sum: an empty bin counts as holding `epsilon` (with the default 1e-4, a bin
 * holding 1% on one side and nothing on the other adds about 0.046). Proportions that are positive
 * but below epsilon are floored too, which keeps the index monotone in each proportion; with fewer
 * than 1/epsilon observations per side no non-zero proportion is that small, so this is then
 * exactly "epsilon replaces zero proportions". A bin empty on both sides adds 0.
 *
 * Null when either side has a zero total. Throws a RangeError unless epsilon is in (0, 1).
 */
export function psi(reference: number[], current: number[], epsilon = 1e-4): number | null {
  if (!(epsilon > 0 && epsilon < 1)) throw new RangeError(`psi: epsilon must be in (0, 1), got ${epsilon}`)
  const rt = totalOf('psi', reference)
  const ct = totalOf('psi', current)
  if (rt === 0 || ct === 0) return null
  let sum = 0
  const k = Math.max(reference.length, current.length)
  for (let i = 0; i < k; i++) {
    const r = Math.max((reference[i] ?? 0) / rt, epsilon)
    const c = Math.max((current[i] ?? 0) / ct, epsilon)
    sum += (c - r) * Math.log(c / r)
  }
  return sum
}

/**
 * Jensen–Shannon distance: the square root of the Jensen–Shannon divergence
 * ½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q) / 2, with base-2 logarithms, so it lies in [0, 1]:
 * 0 for identical proportions, 1 for distributions with disjoint support. Symmetric, and (unlike
 * the divergence) a metric. Empty bins need no smoothing: a term with p_i = 0 is 0 by the usual
 * 0·log 0 = 0 convention, and m_i > 0 wherever p_i or q_i is. Rounding is clamped into [0, 1].
 * Null when either side has a zero total.
 */
export function jensenShannonDistance(reference: number[], current: number[]): number | null {
  const rt = totalOf('jensenShannonDistance', reference)
  const ct = totalOf('jensenShannonDistance', current)
  if (rt === 0 || ct === 0) return null
  let divergence = 0
  const k = Math.max(reference.length, current.length)
  for (let i = 0; i < k; i++) {
    const p = (reference[i] ?? 0) / rt
    const q = (current[i] ?? 0) / ct
    const m = (p + q) / 2
    if (p > 0) divergence += 0.5 * p * Math.log2(p / m)
    if (q > 0) divergence += 0.5 * q * Math.log2(q / m)
  }
  return Math.sqrt(Math.min(1, Math.max(0, divergence)))
}

/**
 * Two-sample Kolmogorov–Smirnov statistic from two histograms on the same ordered bins: the
 * largest absolute difference between the two empirical CDFs, evaluated at the bucket boundaries
 * (after each bucket). In [0, 1]. The raw-data statistic can also peak inside a bucket, so this
 * is a lower bound of it, exact when every distinct value has its own bucket. Only meaningful for
 * ordered bins (numeric features), not categories. Null when either side has a zero total.
 */
export function ksStatisticFromHistograms(reference: number[], current: number[]): number | null {
  const rt = totalOf('ksStatisticFromHistograms', reference)
  const ct = totalOf('ksStatisticFromHistograms', current)
  if (rt === 0 || ct === 0) return null
  let r = 0
  let c = 0
  let max = 0
  const k = Math.max(reference.length, current.length)
  for (let i = 0; i < k; i++) {
    r += reference[i] ?? 0
    c += current[i] ?? 0
    max = Math.max(max, Math.abs(r / rt - c / ct))
  }
  return Math.min(1, max)
}

/** Result of `chiSquaredTest`. */
export interface ChiSquaredResult {
  /** Pearson's χ² statistic of the 2 × k table. */
  statistic: number
  /** Degrees of freedom, (2 − 1)(k − 1) = k − 1 for the k categories kept. */
  dof: number
  /** P(χ²(dof) ≥ statistic), from the chi-squared survival function. */
  pValue: number
  /** Cramér's V, √(χ² / (n · min(2 − 1, k − 1))) = √(χ² / n), in [0, 1]. */
  cramersV: number
}

/**
 * Pearson's chi-squared test of homogeneity on the 2 × k contingency table whose rows are the
 * reference and current counts: are both samples drawn from one categorical distribution?
 * Expected cell counts are row total × column total / n.
 *
 * Categories that are zero on both sides are dropped first: they carry no information and their
 * expected counts would be 0 (a 0/0 term). The p-value comes from the chi-squared survival
 * function (gamma.ts). Cramér's V is the effect size: at production volumes the p-value is tiny
 * for any difference at all, V says how large it is (0 none, 1 disjoint categories).
 *
 * Null when either side has a zero total, or fewer than two categories remain (dof would be 0:
 * a single category cannot differ in proportion). As with any χ² test, the p-value is an
 * approximation that is poor when many expected counts are below about 5.
 */
export function chiSquaredTest(reference: number[], current: number[]): ChiSquaredResult | null {
  const rt = totalOf('chiSquaredTest', reference)
  const ct = totalOf('chiSquaredTest', current)
  if (rt === 0 || ct === 0) return null
  const columns: [number, number][] = []
  const k = Math.max(reference.length, current.length)
  for (let i = 0; i < k; i++) {
    const r = reference[i] ?? 0
    const c = current[i] ?? 0
    if (r + c > 0) columns.push([r, c])
  }
  if (columns.length < 2) return null
  const n = rt + ct
  let statistic = 0
  for (const [r, c] of columns) {
    const er = ((r + c) * rt) / n
    const ec = ((r + c) * ct) / n
    statistic += (r - er) ** 2 / er + (c - ec) ** 2 / ec
  }
  const dof = columns.length - 1
  return { statistic, dof, pValue: chiSquaredSurvival(statistic, dof), cramersV: Math.min(1, Math.sqrt(statistic / n)) }
}

/**
 * Puts two category/count lists on one axis so they can be passed to the functions above:
 * the union of categories, the reference's in their own order first, then categories only the
 * current side has, sorted by code unit (`Array.prototype.sort`), so the order is stable across
 * calls. Counts of a category missing on one side are 0. A category listed twice on one side has
 * its counts summed; a missing count (counts shorter than categories) is 0.
 */
export function alignCategories(
  refCats: string[],
  refCounts: number[],
  curCats: string[],
  curCounts: number[],
): { categories: string[]; reference: number[]; current: number[] } {
  const tally = (cats: string[], counts: number[]): Map<string, number> => {
    const map = new Map<string, number>()
    cats.forEach((c, i) => map.set(c, (map.get(c) ?? 0) + (counts[i] ?? 0)))
    return map
  }
  const refMap = tally(refCats, refCounts)
  const curMap = tally(curCats, curCounts)
  const categories = [...refMap.keys(), ...[...curMap.keys()].filter((c) => !refMap.has(c)).sort()]
  return {
    categories,
    reference: categories.map((c) => refMap.get(c) ?? 0),
    current: categories.map((c) => curMap.get(c) ?? 0),
  }
}
