// Histograms on quantile bins. A reference profile stores interior bin edges computed from the
// reference data; every window is then histogrammed on the same edges, so drift statistics
// (drift.ts) compare count vectors without keeping raw rows.

import { quantileSorted } from 'simple-statistics'

/**
 * Interior bin edges at the 1/bins, 2/bins, …, (bins−1)/bins quantiles of the finite values,
 * ascending and deduplicated.
 *
 * - Quantiles are simple-statistics' `quantileSorted` (linear interpolation between order
 *   statistics, R type 7 / numpy's default), the same definition as `quantiles` in robust.ts.
 * - NaN and ±Infinity are ignored: they have no place on a quantile scale (and `histogramCounts`
 *   skips them too, so counts and edges describe the same values).
 * - Equal quantiles collapse into one edge, so a feature with few distinct values gets fewer
 *   bins instead of empty zero-width ones; a constant feature gets a single edge at its value.
 * - No finite values, or bins = 1, gives [] (one bucket holding everything).
 *
 * Throws a RangeError unless bins is a positive integer: that is a configuration error, not data.
 */
export function quantileBinEdges(values: number[], bins: number): number[] {
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`quantileBinEdges: bins must be a positive integer, got ${bins}`)
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (finite.length === 0) return []
  const edges: number[] = []
  for (let i = 1; i < bins; i++) {
    const q = quantileSorted(finite, i / bins)
    if (edges.length === 0 || q > edges[edges.length - 1]!) edges.push(q)
  }
  return edges
}

/**
 * Bucket of x for ascending edges e0 < e1 < … < e(k−1), by binary search (O(log k)):
 * (−∞, e0) → 0, [e(i−1), e(i)) → i, [e(k−1), +∞) → k. Buckets are closed on the left, so a value
 * equal to an edge belongs to the bucket above it. With no edges everything is bucket 0.
 * −Infinity lands in 0 and +Infinity in k; NaN compares false with every edge and lands in 0,
 * so callers that must not count NaN filter it first (as `histogramCounts` does).
 */
export function bucketIndex(edges: number[], x: number): number {
  let lo = 0
  let hi = edges.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (x >= edges[mid]!) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Counts of the finite values per bucket of `bucketIndex` (an array of length edges.length + 1,
 * all zeros for no values). NaN and ±Infinity are skipped, matching `quantileBinEdges`.
 */
export function histogramCounts(edges: number[], values: number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0)
  for (const v of values) if (Number.isFinite(v)) counts[bucketIndex(edges, v)]!++
  return counts
}
