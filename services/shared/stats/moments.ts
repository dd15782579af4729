/** Mergeable running summary (count, mean, sum of squared deviations, min, max). */
export interface Moments {
  count: number
  mean: number
  m2: number
  min: number
  max: number
}

export function emptyMoments(): Moments {
  return { count: 0, mean: 0, m2: 0, min: Infinity, max: -Infinity }
}

/** Welford's update. */
export function addValue(m: Moments, x: number): Moments {
  const count = m.count + 1
  const delta = x - m.mean
  const mean = m.mean + delta / count
  return { count, mean, m2: m.m2 + delta * (x - mean), min: Math.min(m.min, x), max: Math.max(m.max, x) }
}

/** Chan et al.'s parallel merge: the summary of the two inputs' concatenation. */
export function mergeMoments(a: Moments, b: Moments): Moments {
  if (a.count === 0) return b
  if (b.count === 0) return a
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

/** Population standard deviation; null for no values. */
export function momentsStd(m: Moments): number | null {
  return m.count === 0 ? null : Math.sqrt(m.m2 / m.count)
}
