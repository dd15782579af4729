// A mergeable running summary of a stream of numbers: count, mean and the sum of squared
// deviations (m2), plus min and max. Summaries of disjoint parts of a stream (partitions,
// windows, batches) merge into the summary of the whole without revisiting the values.

/**
 * Running summary. For count = 0 every other field is 0 (so a summary is always plain, finite
 * JSON); min and max are only meaningful when count > 0. The functions below never mutate their
 * arguments.
 */
export interface Moments {
  count: number
  mean: number
  /** Σ (x − mean)², the sum of squared deviations from the mean. */
  m2: number
  min: number
  max: number
}

/** The summary of no values: all fields 0. */
export function emptyMoments(): Moments {
  return { count: 0, mean: 0, m2: 0, min: 0, max: 0 }
}

/**
 * The summary with x added, by Welford's update (numerically stable, no catastrophic
 * cancellation as with Σx² − n·mean²). A non-finite x (NaN, ±Infinity) is ignored and a copy of
 * m returned, so the summary stays finite and describes the finite values seen.
 */
export function addValue(m: Moments, x: number): Moments {
  if (!Number.isFinite(x)) return { ...m }
  if (m.count === 0) return { count: 1, mean: x, m2: 0, min: x, max: x }
  const count = m.count + 1
  const delta = x - m.mean
  const mean = m.mean + delta / count
  return { count, mean, m2: m.m2 + delta * (x - mean), min: Math.min(m.min, x), max: Math.max(m.max, x) }
}

/** The summary of the finite values in `values` (folds `addValue` from `emptyMoments()`). */
export function momentsOf(values: number[]): Moments {
  let m = emptyMoments()
  for (const v of values) m = addValue(m, v)
  return m
}

/**
 * The summary of the concatenation of the streams summarised by a and b, by the pairwise update
 * of Chan, Golub and LeVeque: with δ = mean_b − mean_a and n = n_a + n_b,
 * mean = mean_a + δ·n_b/n and m2 = m2_a + m2_b + δ²·n_a·n_b/n. Commutative and associative up to
 * rounding; merging with an empty summary returns a copy of the other one.
 */
export function mergeMoments(a: Moments, b: Moments): Moments {
  if (a.count === 0) return { ...b }
  if (b.count === 0) return { ...a }
  const count = a.count + b.count
  const delta = b.mean - a.mean
  return {
    count,
    mean: a.mean + (delta * b.count) / count,
    m2: a.m2 + b.m2 + (delta * delta * a.count * b.count) / count,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
  }
}

/** Population variance m2 / count; null for count 0 (no values, no variance). */
export function momentsVariance(m: Moments): number | null {
  return m.count === 0 ? null : Math.max(0, m.m2) / m.count
}

/** Population standard deviation √(m2 / count); null for count 0. */
export function momentsStd(m: Moments): number | null {
  const v = momentsVariance(m)
  return v === null ? null : Math.sqrt(v)
}
