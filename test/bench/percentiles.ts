export interface Percentiles {
  count: number
  p50_ms: number | null
  p90_ms: number | null
  p99_ms: number | null
  max_ms: number | null
  mean_ms: number | null
}

/** Nearest-rank percentiles of latencies in ms (p99 of a few hundred samples is close to the max). */
export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b)
  const rank = (p: number): number | null => (sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!) : null)
  return {
    count: sorted.length,
    p50_ms: rank(0.5),
    p90_ms: rank(0.9),
    p99_ms: rank(0.99),
    max_ms: sorted.length ? Math.round(sorted[sorted.length - 1]!) : null,
    mean_ms: sorted.length ? Math.round(sorted.reduce((a, b) => a + b, 0) / sorted.length) : null,
  }
}
