// Small seeded pseudo-random generators, so anything random in the statistics library (bootstrap
// resampling) and in tests is reproducible from a seed. Not for cryptography.

/**
 * mulberry32: a 32-bit state PRNG (Tommy Ettinger's mulberry32). Returns a function yielding
 * uniform numbers in [0, 1) with 2^-32 resolution; the same seed always gives the same sequence.
 * The seed is taken modulo 2^32 (`seed >>> 0`), so seeds that differ by a multiple of 2^32, and
 * non-integer parts of a seed, give the same sequence.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * A uniform integer in 0..n-1 from a [0, 1) generator. Throws a RangeError unless n is a positive
 * integer (there is no integer to return otherwise).
 */
export function randomInt(rand: () => number, n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`randomInt: n must be a positive integer, got ${n}`)
  return Math.min(n - 1, Math.floor(rand() * n))
}

/**
 * A normal deviate with the given mean and standard deviation (Box–Muller, one value per two
 * uniforms). `1 − u` keeps the logarithm's argument in (0, 1], so the result is always finite.
 */
export function randomNormal(rand: () => number, mean = 0, std = 1): number {
  const u = 1 - rand()
  const v = rand()
  return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
}
