// Effect sizes with their sampling noise, for decisions whose false-alarm rate must not depend on
// the sample size or on the number of categories. A plug-in distance between a window and a
// reference (PSI, JS distance, Cramér's V) is biased upward by sampling noise, by an amount
// that grows with the number of cells and shrinks with the window: a fixed threshold on it
// flags sparse windows of a stationary feature and misses real shifts in large ones. These
// functions give, instead, a calibrated test of "no change" and an effect estimate in plain
// units (a mean shift in reference standard deviations, a share of traffic moved between
// categories) corrected for its bias, with a standard error.

import { gammaln } from 'simple-statistics'
import { chiSquaredTest } from './drift.ts'
import { chiSquaredSurvival } from './gamma.ts'

/** P(Z > z) for a standard normal Z, with full relative precision far in the upper tail. */
export function normalSurvival(z: number): number {
  if (Number.isNaN(z)) return NaN
  const twoSided = chiSquaredSurvival(z * z, 1) / 2
  return z >= 0 ? twoSided : 1 - twoSided
}

/**
 * Quantile of the standard normal distribution (Acklam's rational approximation, relative error
 * below 1.2e-9), for p in (0, 1). Throws a RangeError outside that interval.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`)
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239]
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572]
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783]
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416]
  const low = 0.02425
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p))
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
  }
  if (p > 1 - low) return -normalQuantile(1 - p)
  const q = p - 0.5
  const r = q * q
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  )
}

/** A standardized mean shift and its standard error. */
export interface MeanShift {
  /** (window mean − reference mean) / reference standard deviation; signed. */
  estimate: number
  /** Standard error of the estimate: both means are noisy (window and reference sizes). */
  se: number
}

/**
 * Mean shift of a window in reference standard deviations. Unbiased as it is (a difference of
 * means); its standard error √(s²/n + σ²/N) / σ uses the window's own spread, so a window that
 * also got wider is not judged on the reference's narrower noise. Null when either side has
 * fewer than two values or the reference has no spread.
 */
export function meanShift(
  reference: { mean: number; std: number; count: number },
  window: { mean: number | null; std: number | null; count: number },
): MeanShift | null {
  if (reference.count < 2 || window.count < 2 || window.mean === null || window.std === null) return null
  if (!(reference.std > 0) || !Number.isFinite(window.mean) || !Number.isFinite(window.std)) return null
  const se = Math.sqrt(window.std ** 2 / window.count + reference.std ** 2 / reference.count) / reference.std
  return { estimate: (window.mean - reference.mean) / reference.std, se }
}

/** E|X − np| for X ~ Binomial(n, p) (De Moivre's closed form), in counts. */
export function binomialMeanAbsoluteDeviation(n: number, p: number): number {
  if (n <= 0 || p <= 0 || p >= 1) return 0
  const nu = Math.floor(n * p) + 1
  if (nu > n) return 0
  // 2 ν C(n, ν) p^ν (1 − p)^(n − ν + 1), in logs; n need not be an integer for the gamma form.
  const log = Math.log(2 * nu) + gammaln(n + 1) - gammaln(nu + 1) - gammaln(n - nu + 1) + nu * Math.log(p) + (n - nu + 1) * Math.log1p(-p)
  return Math.exp(log)
}

/** Result of `mixShift`. */
export interface MixShift {
  /** Plug-in total variation ½ Σ |c_i/n − r_i/N| over the cells: biased upward by noise. */
  raw: number
  /** Expected plug-in total variation of a window drawn from the reference itself (its bias). */
  noise: number
  /** Total variation corrected for that bias: √(max(0, raw² − noise²)). */
  estimate: number
  /** Standard error of the estimate (its delta-method bound ½ √(1/n + 1/N)). */
  se: number
  /** P-value of the homogeneity test on cells merged to enough expected counts; null when fewer than two such groups exist. */
  pValue: number | null
  /** Number of merged groups the test used. */
  groups: number
}

/**
 * How much of the traffic moved between cells (categories, or histogram bins) from the
 * reference to the window, as a total variation distance in [0, 1]: 0.10 means a tenth of the
 * values would have to change cell to turn one distribution into the other.
 *
 * The plug-in total variation of a window of n values over k cells is biased upward by about
 * ½ Σ √(2 p_i / (π n)): with 500 categories and 10,000 values that is 0.09 on its own. Noise
 * and a real shift add roughly in quadrature in each cell (E|δ + ε| ≈ √(δ² + E|ε|²)), so the
 * estimate removes the expected noise that way; the expected noise per cell is the exact
 * binomial mean absolute deviation at the window's size plus the reference's own noise.
 *
 * The test of "no change" is Pearson's χ² on the 2 × g table of reference and window counts,
 * after merging cells so that each group expects at least `minExpected` window values: the χ²
 * approximation holds its tail there, whereas on sparse cells (500 categories, 200 values) its
 * false-alarm rate is far above nominal. `ordered` cells (histogram bins) merge with their
 * neighbours; categories merge from the rarest in the reference up. Cells the reference never
 * saw join the rarest group. Merging is decided from the reference alone, never from the window.
 *
 * Null when either side has a zero total.
 */
export function mixShift(reference: number[], current: number[], options: { ordered: boolean; minExpected?: number }): MixShift | null {
  const k = Math.max(reference.length, current.length)
  let N = 0
  let n = 0
  for (let i = 0; i < k; i++) {
    N += reference[i] ?? 0
    n += current[i] ?? 0
  }
  if (!(N > 0) || !(n > 0)) return null
  let raw = 0
  let noise = 0
  for (let i = 0; i < k; i++) {
    const p = (reference[i] ?? 0) / N
    raw += Math.abs((current[i] ?? 0) / n - p)
    // The window's binomial deviation and the reference's (normal, N is large) add in quadrature.
    noise += Math.sqrt((binomialMeanAbsoluteDeviation(n, p) / n) ** 2 + ((2 / Math.PI) * p * (1 - p)) / N)
  }
  raw /= 2
  noise /= 2
  const estimate = Math.sqrt(Math.max(0, raw * raw - noise * noise))
  const se = 0.5 * Math.sqrt(1 / n + 1 / N)

  const minExpected = options.minExpected ?? 10
  const order = Array.from({ length: k }, (_, i) => i)
  const seen = order.filter((i) => (reference[i] ?? 0) > 0)
  const unseen = order.filter((i) => !((reference[i] ?? 0) > 0))
  if (!options.ordered) seen.sort((a, b) => (reference[b] ?? 0) - (reference[a] ?? 0) || a - b)
  const groups: number[][] = []
  let open: number[] = []
  let expected = 0
  for (const i of seen) {
    open.push(i)
    expected += ((reference[i] ?? 0) * n) / N
    if (expected >= minExpected) {
      groups.push(open)
      open = []
      expected = 0
    }
  }
  // A remainder short of minExpected joins the last group (the rarest categories, or the top bins).
  if (open.length) {
    if (groups.length) groups[groups.length - 1]!.push(...open)
    else groups.push(open)
  }
  if (unseen.length) {
    if (groups.length) groups[groups.length - 1]!.push(...unseen)
    else groups.push(unseen)
  }
  const sum = (v: number[], g: number[]): number => g.reduce((s, i) => s + (v[i] ?? 0), 0)
  const test =
    groups.length >= 2
      ? chiSquaredTest(
          groups.map((g) => sum(reference, g)),
          groups.map((g) => sum(current, g)),
        )
      : null
  return { raw, noise, estimate, se, pValue: test ? test.pValue : null, groups: groups.length }
}

/** I_x(a, b), the regularized incomplete beta function (continued fraction, Numerical Recipes §6.4). */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (!(a > 0 && b > 0)) throw new RangeError(`regularizedBeta: a and b must be positive, got ${a}, ${b}`)
  if (x <= 0) return 0
  if (x >= 1) return 1
  const front = Math.exp(gammaln(a + b) - gammaln(a) - gammaln(b) + a * Math.log(x) + b * Math.log1p(-x))
  // The fraction converges fast for x < (a + 1) / (a + b + 2); the symmetry gives the rest.
  if (x > (a + 1) / (a + b + 2)) return 1 - regularizedBeta(1 - x, b, a)
  const tiny = 1e-300
  let c = 1
  let d = 1 - ((a + b) * x) / (a + 1)
  if (Math.abs(d) < tiny) d = tiny
  d = 1 / d
  let h = d
  for (let m = 1; m <= 500; m++) {
    const m2 = 2 * m
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2))
    d = 1 + aa * d
    if (Math.abs(d) < tiny) d = tiny
    c = 1 + aa / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    h *= d * c
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1))
    d = 1 + aa * d
    if (Math.abs(d) < tiny) d = tiny
    c = 1 + aa / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    const step = d * c
    h *= step
    if (Math.abs(step - 1) < 1e-15) break
  }
  return (front * h) / a
}

/** P(T > t) for Student's t with `dof` degrees of freedom (dof > 0, not necessarily an integer). */
export function studentTSurvival(t: number, dof: number): number {
  if (!(dof > 0)) throw new RangeError(`studentTSurvival: dof must be positive, got ${dof}`)
  const tail = regularizedBeta(dof / (dof + t * t), dof / 2, 0.5) / 2
  return t >= 0 ? tail : 1 - tail
}

/** The t with P(T > t) = p for Student's t with `dof` degrees of freedom, p in (0, 1). */
export function studentTQuantileUpper(p: number, dof: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`studentTQuantileUpper: p must be in (0, 1), got ${p}`)
  if (p > 0.5) return -studentTQuantileUpper(1 - p, dof)
  // Bisection on the survival function: monotone, and a few dozen steps reach full precision.
  let lo = 0
  let hi = 1
  while (studentTSurvival(hi, dof) > p) hi *= 2
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2
    if (studentTSurvival(mid, dof) > p) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}
