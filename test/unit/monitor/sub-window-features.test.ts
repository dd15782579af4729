import { describe, expect, it } from 'vitest'
import type { ReferenceProfile } from '../../../services/shared/records/reference-profile.ts'
import type { FeatureWindowStats, WindowKey } from '../../../services/shared/records/window-metrics.ts'
import { buildRuntimeModel } from '../../../services/monitor/core/runtime-model.ts'
import { categoriesCapped, mergeSubWindowFeatures, subWindowSize } from '../../../services/monitor/core/windows/sub-window-features.ts'
import { mulberry32 } from '../../../services/shared/stats/random.ts'
import { sampleModel } from '../../support/reference-sample.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const EDGES = [0, 1, 2]
const reference: ReferenceProfile = {
  model_id: 'm',
  source: 'test',
  created_at: 0,
  numeric: { x: { bin_edges: EDGES, histogram: [1, 1, 1, 1], count: 4, null_rate: 0, min: 0, max: 3, mean: 1, std: 1 } },
  categorical: { c: { categories: ['a', 'b', 'c'], counts: [1, 1, 1], count: 3, null_rate: 0 } },
  prediction: {},
  performance: { accuracy: 0.9, labeled_count: 10 },
}
const model = buildRuntimeModel(sampleModel('m', { features: { numeric: ['x'], categorical: ['c'] }, windows: ['1h', '1d'] }), reference)

interface Row {
  time: number
  segment: string
  x: number | null
  c: string | null
}

/** The statistics of some rows, written out from the definitions (population std, bucket i
 *  holding values in [e(i−1), e(i)), categories by name). */
function statsOf(rows: Row[], key: WindowKey): FeatureWindowStats[] {
  const values = rows.flatMap((r) => (r.x === null ? [] : [r.x]))
  const n = values.length
  const mean = n ? values.reduce((a, b) => a + b, 0) / n : null
  const std = n ? Math.sqrt(values.reduce((a, v) => a + (v - mean!) ** 2, 0) / n) : null
  const histogram = [0, 0, 0, 0]
  for (const v of values) histogram[EDGES.filter((e) => v >= e).length]!++
  const counts = new Map<string, number>()
  for (const r of rows) if (r.c !== null) counts.set(r.c, (counts.get(r.c) ?? 0) + 1)
  const categories = [...counts.keys()].sort()
  return [
    {
      key,
      feature: 'x',
      categorical: null,
      numeric: {
        count: n,
        nulls: rows.length - n,
        min: n ? Math.min(...values) : null,
        max: n ? Math.max(...values) : null,
        mean,
        std,
        bin_edges: EDGES,
        histogram,
      },
    },
    {
      key,
      feature: 'c',
      numeric: null,
      categorical: {
        count: [...counts.values()].reduce((a, b) => a + b, 0),
        nulls: rows.filter((r) => r.c === null).length,
        categories,
        counts: categories.map((c) => counts.get(c)!),
        unseen: categories.filter((c) => !['a', 'b', 'c'].includes(c)).reduce((s, c) => s + counts.get(c)!, 0),
        overflow_values: 0,
        overflow_count: 0,
      },
    },
  ]
}

const keyOf = (start: number, size: number, segment: string): WindowKey => ({
  model_id: 'm',
  model_version: 'v1',
  segment,
  window_size_ms: size,
  window_start: start,
})

describe('sub-window feature statistics', () => {
  it('picks the largest configured size that divides a window size', () => {
    expect(subWindowSize([HOUR, DAY], DAY)).toBe(HOUR)
    expect(subWindowSize([HOUR, 6 * HOUR, DAY], DAY)).toBe(6 * HOUR)
    expect(subWindowSize([HOUR, 5 * HOUR, DAY], DAY)).toBe(HOUR)
    expect(subWindowSize([HOUR, DAY], HOUR)).toBeNull()
    expect(subWindowSize([7 * HOUR, DAY], DAY)).toBeNull()
    // A week of hours is merged; a day of minutes is read from its rows.
    expect(subWindowSize([HOUR, 7 * DAY], 7 * DAY)).toBe(HOUR)
    expect(subWindowSize([60_000, DAY], DAY)).toBeNull()
  })

  it("merges hours into the day's statistics computed from the rows themselves", () => {
    const random = mulberry32(7)
    const day = 5 * DAY
    const rows: Row[] = Array.from({ length: 3_000 }, () => ({
      time: day + Math.floor(random() * 20) * HOUR + Math.floor(random() * HOUR),
      segment: random() < 0.3 ? 'region=eu' : 'region=us',
      x: random() < 0.05 ? null : (random() - 0.3) * 4 * (1 + random() * 1e3 * (random() < 0.01 ? 1 : 0)),
      c: random() < 0.02 ? null : ['a', 'b', 'c', 'z'][Math.floor(random() * 4)]!,
    }))
    const segments = ['all', 'region=eu', 'region=us']
    const inSegment = (r: Row, segment: string): boolean => segment === 'all' || r.segment === segment
    const parts: FeatureWindowStats[] = []
    for (let h = 0; h < 24; h++) {
      const start = day + h * HOUR
      const hour = rows.filter((r) => r.time >= start && r.time < start + HOUR)
      for (const segment of segments) {
        const own = hour.filter((r) => inSegment(r, segment))
        if (own.length) parts.push(...statsOf(own, keyOf(start, HOUR, segment)))
      }
    }
    const keys = segments.map((segment) => keyOf(day, DAY, segment))
    const merged = mergeSubWindowFeatures(model, keys, parts.reverse())
    for (const key of keys) {
      const want = statsOf(
        rows.filter((r) => inSegment(r, key.segment)),
        key,
      )
      const got = merged.filter((f) => f.key.segment === key.segment)
      const x = got.find((f) => f.feature === 'x')!.numeric!
      const wantX = want[0]!.numeric!
      expect({ ...x, mean: 0, std: 0 }).toEqual({ ...wantX, mean: 0, std: 0 })
      expect(x.mean!).toBeCloseTo(wantX.mean!, 9)
      expect(x.std!).toBeCloseTo(wantX.std!, 9)
      expect(got.find((f) => f.feature === 'c')!.categorical).toEqual(want[1]!.categorical)
      // The pseudo-features no part carries come out empty, as from the rows.
      expect(got.find((f) => f.feature === '__score')!.numeric!.count).toBe(0)
    }
    // The same parts in any order give the same bits.
    expect(mergeSubWindowFeatures(model, keys, [...parts].reverse())).toEqual(merged)
  })

  it('tells when some part kept only its most frequent categories', () => {
    const [, c] = statsOf([{ time: 0, segment: 'all', x: 1, c: 'a' }], keyOf(0, HOUR, 'all'))
    expect(categoriesCapped(c!)).toBe(false)
    expect(categoriesCapped({ ...c!, categorical: { ...c!.categorical!, overflow_values: 2, overflow_count: 5 } })).toBe(true)
  })
})
