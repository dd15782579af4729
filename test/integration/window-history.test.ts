import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PredictionEvent } from '../../services/shared/events/types.ts'
import { predictionRow } from '../support/prediction-rows.ts'
import { featureFromRecord, type FeatureRecord } from '../../services/monitor/core/windows/window-rows.ts'
import { buildRuntimeModel } from '../../services/monitor/core/runtime-model.ts'
import { loadSeriesHistory } from '../../services/monitor/store/window-history.ts'
import { WindowStore } from '../../services/monitor/store/window-store.ts'
import { recordAt } from '../support/events.ts'
import { freshClickHouse } from '../support/harness.ts'
import { SMALL_REFERENCE, sampleModel } from '../support/reference-sample.ts'

// A window's data_version (newest ingested_at in ms × 10^6 + rows read) is above 2^53. The series
// history hands it to the window's evaluation: read as a double it came back rounded, and an
// evaluation judged again (new join counts) was stored with a lower version than the one it
// replaced, and lost to it.

const HOUR = 3_600_000
const T0 = Date.UTC(2026, 10, 2)
const model = buildRuntimeModel(sampleModel('m', { windows: ['1h'], segments: [], allowed_lateness: '0s' }), SMALL_REFERENCE)

const event = (id: string, time: number, x: number, c = 'a'): PredictionEvent => ({
  prediction_id: id,
  model_id: 'm',
  model_version: 'v1',
  event_time: time,
  numeric_features: { x },
  categorical_features: { c },
  prediction: { predicted_class: null, scores: { yes: 0.5, no: 0.5 }, value: null },
  segments: {},
})

describe('the series history', () => {
  let db: Awaited<ReturnType<typeof freshClickHouse>>
  beforeAll(async () => {
    db = await freshClickHouse()
  })
  afterAll(() => db?.drop())

  it('keeps each window’s data_version exact', async () => {
    // Rows ingested at a ms whose versions are not doubles: the first window read its two rows and
    // the one that closes it, 1796501571042 × 10^6 + 3.
    const ingested = 1_796_501_571_042
    const events = [event('a', T0 + 10, 0.1), event('b', T0 + 20, 0.2), event('c', T0 + HOUR + 5, 0.3)]
    await db.ch.insert(
      'predictions',
      events.map((e, i) => predictionRow(e, model, recordAt(i, e.event_time), ingested)),
    )
    await new WindowStore(db.ch).recompute(model, HOUR, [T0, T0 + HOUR])
    const [stored] = await db.ch.query<{ v: string }>(
      `SELECT toString(data_version) AS v FROM ${db.ch.table('window_summary')} WHERE window_start = ${T0} AND segment = 'all'`,
    )
    const want = (BigInt(ingested) * 1_000_000n + 3n).toString()
    expect(stored!.v).toBe(want)
    expect(String(Number(want))).not.toBe(want)
    const history = await loadSeriesHistory(db.ch, 'm', HOUR, T0, T0 + HOUR, HOUR)
    expect(history.dataVersions.get(T0)).toBe(want)
    expect([...history.snapshotVersions.entries()].filter(([key]) => key.endsWith(`|${T0}`)).map(([, v]) => v)).toEqual([want])
  })

  it('reads histograms and categories for the judged windows and the one before them only', async () => {
    const m = buildRuntimeModel(sampleModel('h', { windows: ['1h'], segments: [], allowed_lateness: '0s' }), SMALL_REFERENCE)
    const events: PredictionEvent[] = []
    for (let w = 0; w < 5; w++)
      for (let i = 0; i < 6; i++) events.push({ ...event(`h${w}-${i}`, T0 + w * HOUR + i * 1000, w * 100 + i * 37, 'abc'[(i + w) % 3]), model_id: 'h' })
    await db.ch.insert(
      'predictions',
      events.map((e, i) => predictionRow(e, m, recordAt(i, e.event_time), 1_796_501_571_042)),
    )
    await new WindowStore(db.ch).recompute(
      m,
      HOUR,
      [0, 1, 2, 3, 4].map((w) => T0 + w * HOUR),
    )
    const stored = await db.ch.query<FeatureRecord>(`SELECT * FROM ${db.ch.table('window_feature_stats')} FINAL WHERE model_id = 'h' AND segment = 'all'`)
    const storedOf = (start: number, feature: string) => featureFromRecord(stored.find((r) => r.window_start === start && r.feature === feature)!)

    // Judging windows 3 and 4: window 2 is the previous window, 0 and 1 only feed the baselines.
    const history = await loadSeriesHistory(db.ch, 'h', HOUR, T0 + 3 * HOUR, T0 + 4 * HOUR, HOUR)
    const featuresOf = (w: number) => history.snapshots.get(`v1|all|${T0 + w * HOUR}`)!.features
    for (const w of [2, 3, 4]) for (const f of ['x', 'c']) expect(featuresOf(w).find((s) => s.feature === f)).toEqual(storedOf(T0 + w * HOUR, f))
    for (const w of [0, 1]) {
      const x = storedOf(T0 + w * HOUR, 'x').numeric!
      const c = storedOf(T0 + w * HOUR, 'c').categorical!
      expect(x.histogram.reduce((a, b) => a + b, 0)).toBe(6)
      expect(c.categories.length).toBe(3)
      expect(featuresOf(w).find((s) => s.feature === 'x')!.numeric).toEqual({ ...x, bin_edges: [], histogram: [] })
      expect(featuresOf(w).find((s) => s.feature === 'c')!.categorical).toEqual({ ...c, categories: [], counts: [] })
    }
  })
})
