// Helpers for the statistics tests: seeded draws and reference implementations written
// directly from the definitions (plain loops, no shared code with the library under test).

export { mulberry32 as seeded } from '../../../services/shared/stats/random.ts'

/** Uniform integer in [0, n). */
export function int(rand: () => number, n: number): number {
  return Math.floor(rand() * n)
}

/** n uniform draws on [lo, hi). */
export function uniforms(rand: () => number, n: number, lo = 0, hi = 1): number[] {
  return Array.from({ length: n }, () => lo + (hi - lo) * rand())
}

/** Standard normal draw (Box–Muller). */
export function normal(rand: () => number, mean = 0, sd = 1): number {
  const u = 1 - rand()
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand())
}

/** Random non-negative integer counts of length k, each < max. */
export function counts(rand: () => number, k: number, max: number): number[] {
  return Array.from({ length: k }, () => int(rand, max))
}

/** Median by sorting a copy: middle element, or mean of the two middle ones. */
export function sortMedian(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** R type-7 quantile from the definition: h = (n − 1)p, interpolate between s[⌊h⌋] and s[⌈h⌉]. */
export function type7(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b)
  const h = (s.length - 1) * p
  const lo = Math.floor(h)
  const hi = Math.ceil(h)
  return s[lo]! + (h - lo) * (s[hi]! - s[lo]!)
}

/** Relative closeness with an absolute floor, for comparing independently computed floats. */
export function close(a: number, b: number, tol = 1e-9): boolean {
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b))
}
