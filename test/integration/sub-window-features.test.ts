import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PredictionEvent } from '../../services/shared/events/types.ts'
import type { FeatureWindowStats } from '../../services/shared/records/window-metrics.ts'
import { predictionRow } from '../support/prediction-rows.ts'
import { buildRuntimeModel, type RuntimeModel } from '../../services/monitor/core/runtime-model.ts'
import { WindowStore } from '../../services/monitor/store/window-store.ts'
import { recordAt } from '../support/events.ts'
import { freshClickHouse } from '../support/harness.ts'
import { SMALL_REFERENCE, sampleModel } from '../support/reference-sample.ts'
import { prng } from '../support/traffic.ts'

// A day's feature statistics merged from its hours' against the same day computed from its rows
// (a model without hourly windows, in another database holding the same rows): counts,
// histograms and categories equal, moments within rounding; and where merging cannot give the
// day's numbers (an id with copies in two hours, an hour that capped its categories) the day is
// computed from its rows, bit for bit as without hourly windows.

const HOUR = 3_600_000
const DAY = 24 * HOUR
/** Monday 2026-11-02 00:00 UTC. */
const T0 = Date.UTC(2026, 10, 2)
const runtime = (windows: string[]): RuntimeModel =>
  buildRuntimeModel(sampleModel('m', { windows, segments: ['region'], max_category_values: 6, allowed_lateness: '0s' }), SMALL_REFERENCE)
const withHours = runtime(['1h', '1d'])
const dayOnly = runtime(['1d'])

function event(rand: () => number, id: string, time: number, category?: string): PredictionEvent {
  return {
    prediction_id: id,
    model_id: 'm',
    model_version: 'v1',
    event_time: time,
    numeric_features: { x: rand() < 0.05 ? null : (rand() - 0.4) * 3 },
    categorical_features: { c: category ?? (rand() < 0.02 ? null : 'abcz'[Math.floor(rand() * 4)]!) },
    prediction: { predicted_class: null, scores: { yes: rand(), no: 0 }, value: null },
    segments: { region: rand() < 0.3 ? 'eu' : 'us' },
  }
}

const numbers = (features: FeatureWindowStats[]): FeatureWindowStats[] =>
  [...features].sort((a, b) => (a.key.segment + a.feature < b.key.segment + b.feature ? -1 : 1))

describe('a day merged from its hours', () => {
  let merged: Awaited<ReturnType<typeof freshClickHouse>>
  let raw: Awaited<ReturnType<typeof freshClickHouse>>
  let offset = 0
  const rand = prng(11)
  const store = (events: PredictionEvent[]): Promise<void[]> =>
    Promise.all(
      [merged, raw].map((db) =>
        db.ch.insert(
          'predictions',
          events.map((e, i) => predictionRow(e, withHours, recordAt(offset + i, e.event_time + 1_000), T0 + offset + i)),
        ),
      ),
    ).finally(() => (offset += events.length))
  const day = async (start: number): Promise<{ merged: FeatureWindowStats[]; raw: FeatureWindowStats[] }> => ({
    merged: numbers((await new WindowStore(merged.ch).recompute(withHours, DAY, [start])).features),
    raw: numbers((await new WindowStore(raw.ch).recompute(dayOnly, DAY, [start])).features),
  })

  beforeAll(async () => {
    merged = await freshClickHouse()
    raw = await freshClickHouse()
  })
  afterAll(async () => {
    await merged?.drop()
    await raw?.drop()
  })

  it('gives the numbers of the rows, computing the hours not stored yet and storing them for the hours', async () => {
    const events = Array.from({ length: 4_000 }, (_, i) => event(rand, `p${i}`, T0 + Math.floor(rand() * DAY)))
    // Copies of an id within one hour: counted once in the hour and in the day alike.
    events.push(...events.slice(0, 40).map((e) => ({ ...e, event_time: Math.floor(e.event_time / HOUR) * HOUR + 7 })))
    await store(events)
    // Some hours computed before the day, the others left to it.
    const hours = new WindowStore(merged.ch)
    await hours.recompute(withHours, HOUR, [T0, T0 + 5 * HOUR, T0 + 6 * HOUR])
    // An hour's statistics written twice (two writers) and not merged away yet count once.
    const table = merged.ch.table('window_feature_stats')
    await merged.ch.command(`INSERT INTO ${table} SELECT * FROM ${table} WHERE window_size_ms = ${HOUR} AND window_start = ${T0 + 5 * HOUR}`)
    const { merged: got, raw: want } = await day(T0)
    expect(got.length).toBe(want.length)
    expect(got.length).toBeGreaterThan(0)
    got.forEach((g, i) => {
      const w = want[i]!
      expect({ key: g.key, feature: g.feature, categorical: g.categorical }).toEqual({ key: w.key, feature: w.feature, categorical: w.categorical })
      if (!w.numeric) return expect(g.numeric).toBeNull()
      const { mean, std, ...exact } = g.numeric!
      const { mean: wantMean, std: wantStd, ...wantExact } = w.numeric
      expect(exact, `${g.key.segment} ${g.feature}`).toEqual(wantExact)
      if (wantMean === null) expect(mean).toBeNull()
      else expect(mean!).toBeCloseTo(wantMean, 12)
      if (wantStd === null) expect(std).toBeNull()
      else expect(std!).toBeCloseTo(wantStd, 12)
    })
    // The day stored every hour's statistics: an hour computed now reuses them.
    const hour = await hours.recompute(withHours, HOUR, [T0 + 13 * HOUR])
    expect(hour.featuresReused).toEqual([T0 + 13 * HOUR])
  })

  it('computes a day from its rows when an id has copies in two of its hours', async () => {
    const start = T0 + DAY
    const events = Array.from({ length: 1_000 }, (_, i) => event(rand, `q${i}`, start + Math.floor(rand() * DAY)))
    events.push({ ...events[0]!, event_time: ((events[0]!.event_time - start + 5 * HOUR) % DAY) + start })
    await store(events)
    const { merged: got, raw: want } = await day(start)
    expect(got).toEqual(want)
  })

  it('computes a day from its rows when one of its hours kept only its most frequent categories', async () => {
    const start = T0 + 2 * DAY
    const events = Array.from({ length: 1_000 }, (_, i) => event(rand, `r${i}`, start + Math.floor(rand() * DAY)))
    events.push(...Array.from({ length: 8 }, (_, i) => event(rand, `s${i}`, start + 3 * HOUR + i, `rare-${i}`)))
    await store(events)
    const { merged: got, raw: want } = await day(start)
    expect(got).toEqual(want)
    expect(got.find((f) => f.key.segment === 'all' && f.feature === 'c')!.categorical!.overflow_values).toBeGreaterThan(0)
  })
})
