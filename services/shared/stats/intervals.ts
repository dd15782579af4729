import { quantileSorted } from 'simple-statistics'
import { mulberry32 } from './random.ts'

/** Wilson score interval for a proportion (better than the normal one near 0, 1 and for small n). */
export function wilsonInterval(successes: number, n: number, z = 1.96): { low: number; high: number; estimate: number } | null {
  if (n <= 0) return null
  const p = successes / n
  const z2 = z * z
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n)
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n)
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half), estimate: p }
}

/** Newcombe's hybrid score interval (method 10, 1998) for the difference p1 − p2. */
export function proportionDifferenceInterval(s1: number, n1: number, s2: number, n2: number, z = 1.96): { estimate: number; low: number; high: number } | null {
  const a = wilsonInterval(s1, n1, z)
  const b = wilsonInterval(s2, n2, z)
  if (!a || !b) return null
  const p1 = a.estimate
  const p2 = b.estimate
  const d = p1 - p2
  return {
    estimate: d,
    low: d - Math.sqrt((p1 - a.low) ** 2 + (b.high - p2) ** 2),
    high: d + Math.sqrt((a.high - p1) ** 2 + (p2 - b.low) ** 2),
  }
}

/** Percentile bootstrap interval of a statistic, with a seeded PRNG (reproducible). */
export function bootstrapInterval(
  values: number[],
  statistic: (sample: number[]) => number,
  options: { resamples?: number; confidence?: number; seed: number },
): { estimate: number; low: number; high: number } | null {
  if (values.length === 0) return null
  const rand = mulberry32(options.seed)
  const resamples = options.resamples ?? 1000
  const alpha = (1 - (options.confidence ?? 0.95)) / 2
  const stats: number[] = []
  const sample = new Array<number>(values.length)
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < values.length; i++) sample[i] = values[Math.floor(rand() * values.length)]!
    stats.push(statistic(sample))
  }
  stats.sort((x, y) => x - y)
  return { estimate: statistic(values), low: quantileSorted(stats, alpha), high: quantileSorted(stats, 1 - alpha) }
}
