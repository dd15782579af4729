// Robust location and scale (median, MAD), quantiles, and seasonal baselines for anomaly
// detection on metric series. Every function here ignores non-finite values (NaN, ±Infinity)
// in its inputs, so one bad point cannot make a baseline NaN; "no values" means no finite values.

import { quantileSorted } from 'simple-statistics'

/** Consistency constant: 1.4826 · MAD estimates the standard deviation of normal data. */
export const MAD_SCALE = 1.4826
/** √(π/2): this times the mean absolute deviation estimates the standard deviation of normal data. */
const MEAN_ABS_DEV_SCALE = Math.sqrt(Math.PI / 2)
/**
 * Relative spread assumed when the data have none at all (a constant history): one part in a
 * million of the larger of |x| and |median|. Floating-point noise then scores |z| < 1 while any
 * real change scores in the thousands or more, so a flat line still flags a real drop.
 */
export const RELATIVE_SCALE_FLOOR = 1e-6

const sortedFinite = (values: number[]): number[] => values.filter(Number.isFinite).sort((a, b) => a - b)

/** Median of the finite values (the mean of the two middle ones for an even count); null for none. */
export function median(values: number[]): number | null {
  const sorted = sortedFinite(values)
  return sorted.length === 0 ? null : quantileSorted(sorted, 0.5)
}

/** Raw (unscaled) median absolute deviation, median |v − median(values)|; null for no values. */
export function mad(values: number[]): number | null {
  const m = median(values)
  if (m === null) return null
  return median(values.filter(Number.isFinite).map((v) => Math.abs(v - m)))
}

/**
 * 1.4826 · MAD, a robust estimate of the standard deviation. Given a raw MAD (a number) it scales
 * it; given values it computes their MAD first and returns null for no values.
 */
export function scaledMad(rawMad: number): number
export function scaledMad(values: number[]): number | null
export function scaledMad(input: number | number[]): number | null {
  if (typeof input === 'number') return MAD_SCALE * input
  const m = mad(input)
  return m === null ? null : MAD_SCALE * m
}

function floorScale(x: number, centre: number): number {
  return RELATIVE_SCALE_FLOOR * Math.max(Math.abs(x), Math.abs(centre))
}

/**
 * Robust z-score of x: (x − median) / (1.4826 · MAD), either against a list of values or against
 * a precomputed median and raw MAD (`robustZScore(x, median, rawMad)`).
 *
 * When the MAD is 0 (more than half the values equal the median) there is no robust scale, and
 * a fallback is used so a real change still scores:
 * - with values: √(π/2) · the mean absolute deviation from the median, if that is positive
 *   (the few values that do differ give the scale);
 * - otherwise (a constant history, or only median and MAD given): RELATIVE_SCALE_FLOOR times
 *   max(|x|, |median|), which gives large finite scores for real changes and small ones for
 *   rounding noise.
 * Null when the MAD is 0 and x equals the median (there is no spread to measure "no change"
 * against), for no values, or when x, median or MAD is not finite, or the MAD is negative.
 */
export function robustZScore(x: number, values: number[]): number | null
export function robustZScore(x: number, median: number, rawMad: number): number | null
export function robustZScore(x: number, valuesOrMedian: number[] | number, rawMad?: number): number | null {
  let centre: number
  let spread: number
  let fallback: number
  if (Array.isArray(valuesOrMedian)) {
    const finite = valuesOrMedian.filter(Number.isFinite)
    const m = median(finite)
    if (m === null) return null
    centre = m
    spread = mad(finite)!
    fallback = (MEAN_ABS_DEV_SCALE * finite.reduce((s, v) => s + Math.abs(v - m), 0)) / finite.length
  } else {
    if (rawMad === undefined || !Number.isFinite(valuesOrMedian) || !Number.isFinite(rawMad) || rawMad < 0) return null
    centre = valuesOrMedian
    spread = rawMad
    fallback = 0
  }
  if (!Number.isFinite(x)) return null
  if (spread > 0) return (x - centre) / (MAD_SCALE * spread)
  if (x === centre) return null
  const scale = fallback > 0 ? fallback : floorScale(x, centre)
  return (x - centre) / scale
}

/**
 * Quantiles of the finite values at each probability in `probs`, by linear interpolation between
 * order statistics (R type 7, numpy's default, simple-statistics' `quantileSorted`): with the
 * values sorted as v_0 … v_{n−1}, the quantile at p is v_⌊h⌋ + (h − ⌊h⌋)(v_⌊h⌋+1 − v_⌊h⌋), h = (n − 1)p.
 * An entry is null when there are no values or its probability is outside [0, 1] (or NaN).
 */
export function quantiles(values: number[], probs: number[]): (number | null)[] {
  const sorted = sortedFinite(values)
  return probs.map((p) => (sorted.length > 0 && p >= 0 && p <= 1 ? quantileSorted(sorted, p) : null))
}

const HOUR_MS = 3_600_000
const WEEK_MS = 7 * 24 * HOUR_MS
/** 1970-01-01T00:00Z was a Thursday: 3 days after the Monday that starts its week. */
const EPOCH_INTO_WEEK_MS = 3 * 24 * HOUR_MS

/**
 * Hour of the week in UTC for a time in ms since the epoch: Monday 00:00–00:59 = 0 …
 * Sunday 23:00–23:59 = 167. Works for times before 1970 too. Throws a RangeError for a
 * non-finite time.
 */
export function hourOfWeek(ms: number): number {
  if (!Number.isFinite(ms)) throw new RangeError(`hourOfWeek: time must be finite, got ${ms}`)
  const intoWeek = (((ms + EPOCH_INTO_WEEK_MS) % WEEK_MS) + WEEK_MS) % WEEK_MS
  return Math.floor(intoWeek / HOUR_MS)
}

/** A robust baseline: median and raw MAD of `samples` comparable past values. */
export interface SeasonalBaseline {
  median: number
  mad: number
  samples: number
}

/**
 * Robust baseline for time `at` from the history points at the same phase of a period: the
 * median and raw MAD of their values.
 *
 * Phase is time modulo periodMs (from the epoch, UTC), cut into slots of `slotMs` (default one
 * hour, capped at the period), and a point matches when it falls in the same slot as `at`. With
 * periodMs = 1 week that is the same hour of the week, with 1 day the same hour of the day.
 * Only points strictly before `at` count (the point being judged may be in `history`), and
 * points with a non-finite time or value are ignored.
 *
 * Null when fewer than `minSamples` points match (and always when none do). Throws a RangeError
 * unless periodMs is positive and slotMs is in (0, periodMs].
 */
export function seasonalBaseline(
  history: { time: number; value: number }[],
  at: number,
  options: { periodMs: number; minSamples: number; slotMs?: number },
): SeasonalBaseline | null {
  const { periodMs, minSamples } = options
  if (!(periodMs > 0) || !Number.isFinite(periodMs)) throw new RangeError(`seasonalBaseline: periodMs must be positive, got ${periodMs}`)
  const slotMs = options.slotMs ?? Math.min(HOUR_MS, periodMs)
  if (!(slotMs > 0 && slotMs <= periodMs)) throw new RangeError(`seasonalBaseline: slotMs must be in (0, periodMs], got ${slotMs}`)
  const slot = (t: number): number => Math.floor((((t % periodMs) + periodMs) % periodMs) / slotMs)
  const target = slot(at)
  const values: number[] = []
  for (const h of history) {
    if (!Number.isFinite(h.time) || !Number.isFinite(h.value) || !(h.time < at)) continue
    if (slot(h.time) === target) values.push(h.value)
  }
  if (values.length === 0 || values.length < minSamples) return null
  return { median: median(values)!, mad: mad(values)!, samples: values.length }
}
