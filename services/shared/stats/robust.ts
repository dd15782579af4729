import { quantileSorted } from 'simple-statistics'

/** Median (null for no values). */
export function median(values: number[]): number | null {
  if (values.length === 0) return null
  return quantileSorted([...values].sort((a, b) => a - b), 0.5)
}

/** Median absolute deviation from the median (raw, unscaled). */
export function mad(values: number[]): number | null {
  const m = median(values)
  if (m === null) return null
  return median(values.map((v) => Math.abs(v - m)))
}

/** A raw MAD scaled by 1.4826, so it estimates the standard deviation of normal data. */
export function scaledMad(rawMad: number): number {
  return 1.4826 * rawMad
}

/**
 * Robust z-score (x − median) / (1.4826 · MAD). Null when MAD is 0 (a constant history): no
 * finite scale exists, and the caller decides how to judge a change against a flat line.
 */
export function robustZScore(x: number, baselineMedian: number, rawMad: number): number | null {
  if (rawMad === 0) return null
  return (x - baselineMedian) / scaledMad(rawMad)
}

/** Quantiles by linear interpolation between order statistics (R type 7, numpy's default). */
export function quantiles(values: number[], probs: number[]): (number | null)[] {
  if (values.length === 0) return probs.map(() => null)
  const sorted = [...values].sort((a, b) => a - b)
  return probs.map((p) => {
    const h = (sorted.length - 1) * p
    const lo = Math.floor(h)
    const hi = Math.min(lo + 1, sorted.length - 1)
    return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!)
  })
}

const WEEK = 7 * 86_400_000
const MONDAY_OFFSET = 3 * 86_400_000 // 1970-01-01 was a Thursday

/** Hour of the week, UTC, Monday 00:00 = 0 … Sunday 23:00 = 167. */
export function hourOfWeek(ms: number): number {
  const intoWeek = (((ms - MONDAY_OFFSET) % WEEK) + WEEK) % WEEK
  return Math.floor(intoWeek / 3_600_000)
}

/**
 * Robust baseline for `at` from history points at the same phase of the period (same
 * hour-of-week with a one-week period, same hour of day with one day): their median and raw MAD.
 * Null with fewer than minSamples such points.
 */
export function seasonalBaseline(
  history: { time: number; value: number }[],
  at: number,
  options: { periodMs: number; minSamples: number; phaseToleranceMs?: number },
): { median: number; mad: number; samples: number } | null {
  const tolerance = options.phaseToleranceMs ?? 0
  const phase = (t: number): number => ((t % options.periodMs) + options.periodMs) % options.periodMs
  const target = phase(at)
  const same = history.filter((h) => {
    if (h.time >= at) return false
    const diff = Math.abs(phase(h.time) - target)
    return Math.min(diff, options.periodMs - diff) <= tolerance
  })
  if (same.length < options.minSamples) return null
  const values = same.map((h) => h.value)
  return { median: median(values)!, mad: mad(values)!, samples: same.length }
}
