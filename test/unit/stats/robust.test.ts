import { describe, expect, it } from 'vitest'
import { MAD_SCALE, hourOfWeek, mad, median, quantiles, robustZScore, scaledMad, seasonalBaseline } from '../../../services/shared/stats/robust.ts'
import { int, normal, seeded, sortMedian, type7 } from './support.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const WEEK = 7 * DAY
/** Monday 2024-01-01 00:00 UTC. */
const MONDAY = Date.UTC(2024, 0, 1)

describe('median and MAD', () => {
  it('match hand values', () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(median([NaN, 5, Infinity])).toBe(5)
    // |v − 2| = 1 1 0 0 2 4 7 → median 1
    expect(mad([1, 1, 2, 2, 4, 6, 9])).toBe(1)
    expect(mad([5, 5, 5])).toBe(0)
  })

  it('are null for no finite values', () => {
    expect(median([])).toBeNull()
    expect(median([NaN])).toBeNull()
    expect(mad([])).toBeNull()
    expect(scaledMad([])).toBeNull()
  })

  it('scaledMad is 1.4826 · MAD, from a MAD or from values', () => {
    expect(scaledMad(2)).toBeCloseTo(2.9652, 12)
    expect(scaledMad([1, 1, 2, 2, 4, 6, 9])).toBeCloseTo(1.4826, 12)
  })

  it('on random samples equal sort-based definitions, and scaled MAD estimates σ of normal data', () => {
    const rand = seeded(71)
    for (let trial = 0; trial < 50; trial++) {
      const values = Array.from({ length: 1 + int(rand, 100) }, () => Math.round(normal(rand, 0, 10)))
      const m = sortMedian(values)
      expect(median(values)).toBe(m)
      expect(mad(values)).toBe(sortMedian(values.map((v) => Math.abs(v - m))))
    }
    const big = Array.from({ length: 20_000 }, () => normal(rand, 5, 3))
    expect(Math.abs(scaledMad(big)! - 3)).toBeLessThan(0.1)
  })
})

describe('robustZScore', () => {
  const history = [1, 1, 2, 2, 4, 6, 9]

  it('is (x − median) / (1.4826 · MAD), from values or from median and MAD', () => {
    expect(robustZScore(5, history)).toBeCloseTo(3 / 1.4826, 12)
    expect(robustZScore(5, 2, 1)).toBeCloseTo(3 / 1.4826, 12)
    expect(robustZScore(-1, history)).toBeCloseTo(-3 / 1.4826, 12)
    expect(robustZScore(2, history)).toBe(0)
  })

  it('falls back to the mean absolute deviation when the MAD is 0', () => {
    const mostlyFlat = [5, 5, 5, 5, 5, 5, 100]
    const scale = Math.sqrt(Math.PI / 2) * (95 / 7)
    expect(robustZScore(100, mostlyFlat)).toBeCloseTo(95 / scale, 12)
    expect(robustZScore(0, mostlyFlat)).toBeCloseTo(-5 / scale, 12)
  })

  it('still flags a real change against a constant history, but not rounding noise', () => {
    const flat = [10, 10, 10, 10]
    expect(robustZScore(10, flat)).toBeNull()
    expect(robustZScore(10, 10, 0)).toBeNull()
    expect(robustZScore(9, flat)).toBeCloseTo(-1 / (1e-6 * 10), 6)
    expect(robustZScore(3, 10, 0)).toBeCloseTo(-7 / (1e-6 * 10), 6)
    expect(robustZScore(1, 0, 0)).toBeCloseTo(1e6, 6)
    expect(Math.abs(robustZScore(10 + 1e-12, flat)!)).toBeLessThan(1)
  })

  it('is null without values or with a non-finite input', () => {
    expect(robustZScore(1, [])).toBeNull()
    expect(robustZScore(NaN, history)).toBeNull()
    expect(robustZScore(1, NaN, 1)).toBeNull()
    expect(robustZScore(1, 0, -1)).toBeNull()
  })

  it('MAD_SCALE is the reciprocal of the normal 75th percentile (0.6745)', () => {
    expect(MAD_SCALE * 0.6744897501960817).toBeCloseTo(1, 4)
  })
})

describe('quantiles', () => {
  it('interpolates linearly between order statistics (R type 7)', () => {
    // h = 4p on 10 20 30 40 50: p = .1 → 14, p = .5 → 30, p = .99 → 49.6
    const q = quantiles([50, 10, 40, 20, 30], [0, 0.1, 0.5, 0.99, 1])
    expect(q[0]).toBe(10)
    expect(q[1]!).toBeCloseTo(14, 12)
    expect(q[2]).toBe(30)
    expect(q[3]!).toBeCloseTo(49.6, 12)
    expect(q[4]).toBe(50)
  })

  it('gives null for no values and for probabilities outside [0, 1]', () => {
    expect(quantiles([], [0.5, 0.9])).toEqual([null, null])
    expect(quantiles([1, 2], [-0.1, 1.1, NaN, 0.5])).toEqual([null, null, null, 1.5])
    expect(quantiles([NaN], [0.5])).toEqual([null])
  })

  it('on random samples equals the type-7 definition', () => {
    const rand = seeded(72)
    for (let trial = 0; trial < 50; trial++) {
      const values = Array.from({ length: 1 + int(rand, 60) }, () => normal(rand))
      const probs = Array.from({ length: 5 }, () => rand())
      quantiles(values, probs).forEach((q, i) => expect(q!).toBeCloseTo(type7(values, probs[i]!), 12))
    }
  })
})

describe('hourOfWeek', () => {
  it('counts from Monday 00:00 UTC', () => {
    expect(hourOfWeek(MONDAY)).toBe(0)
    expect(hourOfWeek(MONDAY + 5.5 * HOUR)).toBe(5)
    expect(hourOfWeek(MONDAY + WEEK - 1)).toBe(167)
    expect(hourOfWeek(MONDAY + WEEK)).toBe(0)
    // 1970-01-01 00:00 UTC was a Thursday
    expect(hourOfWeek(0)).toBe(72)
    expect(() => hourOfWeek(NaN)).toThrow(RangeError)
  })

  it('agrees with Date’s UTC day and hour, before and after 1970', () => {
    const rand = seeded(73)
    for (let trial = 0; trial < 500; trial++) {
      const ms = Math.floor((rand() * 2 - 1) * 4e12)
      const d = new Date(ms)
      expect(hourOfWeek(ms)).toBe(((d.getUTCDay() + 6) % 7) * 24 + d.getUTCHours())
    }
  })
})

describe('seasonalBaseline', () => {
  const rand = seeded(74)
  // three weeks of hourly points
  const hourly = Array.from({ length: 3 * 7 * 24 }, (_, h) => ({ time: MONDAY + h * HOUR, value: Math.round(normal(rand, 100, 10)) }))

  it('with a one-week period uses the same hour of the week', () => {
    const at = MONDAY + 3 * WEEK + 2 * DAY + 14 * HOUR
    const same = hourly.filter((p) => hourOfWeek(p.time) === hourOfWeek(at)).map((p) => p.value)
    expect(same).toHaveLength(3)
    const m = sortMedian(same)
    expect(seasonalBaseline(hourly, at, { periodMs: WEEK, minSamples: 3 })).toEqual({
      median: m,
      mad: sortMedian(same.map((v) => Math.abs(v - m))),
      samples: 3,
    })
    expect(seasonalBaseline(hourly, at, { periodMs: WEEK, minSamples: 4 })).toBeNull()
  })

  it('with a one-day period uses the same hour of the day, only from the past', () => {
    const at = MONDAY + 10 * DAY + 9 * HOUR
    const same = hourly.filter((p) => p.time < at && new Date(p.time).getUTCHours() === 9).map((p) => p.value)
    expect(same).toHaveLength(10)
    const b = seasonalBaseline(hourly, at, { periodMs: DAY, minSamples: 3 })!
    expect(b.samples).toBe(10)
    expect(b.median).toBe(sortMedian(same))
  })

  it('pools sub-hour points of the same hour, or matches exact phase with a smaller slot', () => {
    const fiveMinute = Array.from({ length: 3 * 24 * 12 }, (_, i) => ({ time: MONDAY + i * 300_000, value: i }))
    const at = MONDAY + 3 * DAY + 10 * HOUR + 25 * 60_000
    const sameHour = fiveMinute.filter((p) => new Date(p.time).getUTCHours() === 10).map((p) => p.value)
    expect(sameHour).toHaveLength(36)
    expect(seasonalBaseline(fiveMinute, at, { periodMs: DAY, minSamples: 1 })).toMatchObject({ samples: 36, median: sortMedian(sameHour) })
    const sameMinute = fiveMinute.filter((p) => (at - p.time) % DAY === 0).map((p) => p.value)
    expect(sameMinute).toHaveLength(3)
    expect(seasonalBaseline(fiveMinute, at, { periodMs: DAY, minSamples: 1, slotMs: 300_000 })).toMatchObject({ samples: 3, median: sortMedian(sameMinute) })
  })

  it('ignores non-finite points and the point being judged, and validates the period', () => {
    const at = MONDAY + 2 * DAY
    const history = [
      { time: MONDAY, value: 1 },
      { time: MONDAY + DAY, value: NaN },
      { time: MONDAY + DAY, value: 3 },
      { time: NaN, value: 4 },
      { time: at, value: 1000 },
      { time: at + DAY, value: 1000 },
    ]
    expect(seasonalBaseline(history, at, { periodMs: DAY, minSamples: 2 })).toEqual({ median: 2, mad: 1, samples: 2 })
    expect(seasonalBaseline([], at, { periodMs: DAY, minSamples: 0 })).toBeNull()
    expect(() => seasonalBaseline(history, at, { periodMs: 0, minSamples: 1 })).toThrow(RangeError)
    expect(() => seasonalBaseline(history, at, { periodMs: HOUR, minSamples: 1, slotMs: DAY })).toThrow(RangeError)
  })
})
