// Regularized incomplete gamma functions and the chi-squared survival function built on them
// (Numerical Recipes, 3rd ed., §6.2): a power series for P(a, x) when x < a + 1, where it
// converges fast, and a continued fraction (modified Lentz) for Q(a, x) otherwise. Each is used
// where it converges, and Q = 1 − P is only formed where P is not close to 1, so small tail
// probabilities keep their relative precision. ln Γ comes from simple-statistics (Lanczos).

import { gammaln } from 'simple-statistics'

const EPS = 1e-16
const TINY = 1e-300

/** Enough iterations for both expansions even with a in the hundreds of thousands (they need O(√a)). */
function maxIterations(a: number): number {
  return 1000 + Math.ceil(50 * Math.sqrt(a))
}

/** e^(−x) x^a / Γ(a), computed in logs so large a and x do not overflow. */
function prefactor(a: number, x: number): number {
  return Math.exp(-x + a * Math.log(x) - gammaln(a))
}

/** P(a, x) by the series Σ x^n / (a (a+1) … (a+n)); for x < a + 1. */
function lowerSeries(a: number, x: number): number {
  let term = 1 / a
  let sum = term
  const limit = maxIterations(a)
  for (let n = 1; n < limit; n++) {
    term *= x / (a + n)
    sum += term
    if (Math.abs(term) < Math.abs(sum) * EPS) break
  }
  return sum * prefactor(a, x)
}

/** Q(a, x) by its continued fraction (modified Lentz); for x ≥ a + 1. */
function upperFraction(a: number, x: number): number {
  let b = x + 1 - a
  let c = 1 / TINY
  let d = 1 / b
  let h = d
  const limit = maxIterations(a)
  for (let i = 1; i < limit; i++) {
    const an = -i * (i - a)
    b += 2
    d = an * d + b
    if (Math.abs(d) < TINY) d = TINY
    c = b + an / c
    if (Math.abs(c) < TINY) c = TINY
    d = 1 / d
    const delta = d * c
    h *= delta
    if (Math.abs(delta - 1) < EPS) break
  }
  return prefactor(a, x) * h
}

function checkShape(name: string, a: number): void {
  if (!(a > 0) || !Number.isFinite(a)) throw new RangeError(`${name}: shape a must be a positive finite number, got ${a}`)
}

/**
 * P(a, x) = γ(a, x) / Γ(a), the lower regularized incomplete gamma function (the CDF of a
 * Gamma(a, 1) variable at x). 0 for x ≤ 0 (no mass below 0), 1 for x = +∞. Throws a RangeError
 * for a ≤ 0 or x = NaN, where it is undefined.
 */
export function lowerRegularizedGamma(a: number, x: number): number {
  checkShape('lowerRegularizedGamma', a)
  if (Number.isNaN(x)) throw new RangeError('lowerRegularizedGamma: x is NaN')
  if (x <= 0) return 0
  if (x === Infinity) return 1
  const p = x < a + 1 ? lowerSeries(a, x) : 1 - upperFraction(a, x)
  return Math.min(1, Math.max(0, p))
}

/**
 * Q(a, x) = Γ(a, x) / Γ(a) = 1 − P(a, x), the upper regularized incomplete gamma function
 * (the survival function of a Gamma(a, 1) variable). 1 for x ≤ 0, 0 for x = +∞. Throws a
 * RangeError for a ≤ 0 or x = NaN.
 */
export function upperRegularizedGamma(a: number, x: number): number {
  checkShape('upperRegularizedGamma', a)
  if (Number.isNaN(x)) throw new RangeError('upperRegularizedGamma: x is NaN')
  if (x <= 0) return 1
  if (x === Infinity) return 0
  const q = x < a + 1 ? 1 - lowerSeries(a, x) : upperFraction(a, x)
  return Math.min(1, Math.max(0, q))
}

/**
 * P(X ≥ x) for X chi-squared with `dof` degrees of freedom: Q(dof/2, x/2). 1 for x ≤ 0. Throws a
 * RangeError for dof ≤ 0 (no such distribution).
 */
export function chiSquaredSurvival(x: number, dof: number): number {
  if (!(dof > 0) || !Number.isFinite(dof)) throw new RangeError(`chiSquaredSurvival: dof must be positive, got ${dof}`)
  return upperRegularizedGamma(dof / 2, x / 2)
}
