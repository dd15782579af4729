import { quantileSorted } from 'simple-statistics'

/**
 * Interior bin edges at the 1/bins … (bins-1)/bins quantiles of the finite values, ascending and
 * deduplicated (ties collapse bins, so a feature with few distinct values gets few bins).
 */
export function quantileBinEdges(values: number[], bins: number): number[] {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (finite.length === 0 || bins < 2) return []
  const edges: number[] = []
  for (let i = 1; i < bins; i++) {
    const q = quantileSorted(finite, i / bins)
    if (edges.length === 0 || q > edges[edges.length - 1]!) edges.push(q)
  }
  return edges
}

/** Bucket of x for edges e0 < … < e(k-1): (-inf, e0) → 0, [e(i-1), e(i)) → i, [e(k-1), +inf) → k. */
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

/** Counts per bucket (length edges.length + 1). */
export function histogramCounts(edges: number[], values: number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0)
  for (const v of values) if (Number.isFinite(v)) counts[bucketIndex(edges, v)]!++
  return counts
}
