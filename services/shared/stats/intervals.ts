// Confidence intervals: Wilson's score interval for a proportion, Newcombe's hybrid score
// interval for a difference of proportions, and a seeded percentile bootstrap for anything else.

import { quantileSorted } from 'simple-statistics'
import { mulberry32 } from './random.ts'

/** A point estimate with the bounds of its confidence interval. */
export interface Interval {
  estimate: number
  low: number
  high: number
}

function checkZ(name: string, z: number): void {
  if (!(z >= 0) || !Number.isFinite(z)) throw new RangeError(`${name}: z must be a finite non-negative number, got ${z}`)
}

/**
 * Wilson score interval for a binomial proportion p̂ = successes / n:
 * (p̂ + z²/2n ± z √(p̂(1 − p̂)/n + z²/4n²)) / (1 + z²/n). Unlike the normal (Wald) interval it
 * stays inside [0, 1] and keeps a sensible width at p̂ = 0 or 1 and for small n.
 * `successes` need not be an integer (an expected count is fine). z = 1.96 gives 95%.
 *
 * Null when n is not a positive finite number or successes is outside [0, n] (no proportion to
 * estimate). Throws a RangeError for a negative or non-finite z.
 */
export function wilsonInterval(successes: number, n: number, z = 1.96): Interval | null {
  checkZ('wilsonInterval', z)
  if (!(n > 0) || !Number.isFinite(n) || !(successes >= 0) || successes > n) return null
  const p = successes / n
  const z2 = z * z
  const denominator = 1 + z2 / n
  const centre = (p + z2 / (2 * n)) / denominator
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half), estimate: p }
}

/**
 * Newcombe's hybrid score interval (method 10 of Newcombe 1998) for the difference of two
 * independent proportions d = p1 − p2, from the Wilson intervals [l1, u1] and [l2, u2]:
 * low = d − √((p1 − l1)² + (u2 − p2)²), high = d + √((u1 − p1)² + (p2 − l2)²).
 * It inherits Wilson's good behaviour near 0 and 1 and stays inside [−1, 1].
 * Null when either proportion is null under `wilsonInterval`'s rules.
 */
export function proportionDifferenceInterval(s1: number, n1: number, s2: number, n2: number, z = 1.96): Interval | null {
  const a = wilsonInterval(s1, n1, z)
  const b = wilsonInterval(s2, n2, z)
  if (!a || !b) return null
  const p1 = a.estimate
  const p2 = b.estimate
  const d = p1 - p2
  return {
    estimate: d,
    low: Math.max(-1, d - Math.sqrt((p1 - a.low) ** 2 + (b.high - p2) ** 2)),
    high: Math.min(1, d + Math.sqrt((a.high - p1) ** 2 + (p2 - b.low) ** 2)),
  }
}

/**
 * Percentile bootstrap interval of `statistic`: draws `resamples` (default 1000) samples of
 * values.length with replacement using mulberry32(seed), so the same inputs and seed always give
 * the same interval, and returns statistic(values) with the (1 − confidence)/2 and
 * (1 + confidence)/2 quantiles (linear interpolation, R type 7) of the resampled statistics;
 * confidence defaults to 0.95.
 *
 * Resamples on which the statistic is not finite (e.g. a ratio undefined on a degenerate
 * resample) are dropped. Null for no values, a non-finite statistic on the values themselves, or
 * no finite resample. Throws a RangeError unless resamples is a positive integer and confidence is
 * in (0, 1). The sample array handed to `statistic` is reused between calls, so `statistic` must
 * not keep it.
 */
export function bootstrapInterval(
  values: number[],
  statistic: (sample: number[]) => number,
  options: { resamples?: number; confidence?: number; seed: number },
): Interval | null {
  const resamples = options.resamples ?? 1000
  const confidence = options.confidence ?? 0.95
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`bootstrapInterval: resamples must be a positive integer, got ${resamples}`)
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`bootstrapInterval: confidence must be in (0, 1), got ${confidence}`)
  if (values.length === 0) return null
  const estimate = statistic([...values])
  if (!Number.isFinite(estimate)) return null
  const rand = mulberry32(options.seed)
  const alpha = (1 - confidence) / 2
  const stats: number[] = []
  const sample = new Array<number>(values.length)
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < values.length; i++) sample[i] = values[Math.floor(rand() * values.length)]!
    const s = statistic(sample)
    if (Number.isFinite(s)) stats.push(s)
  }
  if (stats.length === 0) return null
  stats.sort((x, y) => x - y)
  return { estimate, low: quantileSorted(stats, alpha), high: quantileSorted(stats, 1 - alpha) }
}
