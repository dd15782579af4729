import { describe, expect, it } from 'vitest'
import { openWindowsEndedBy } from '../../services/monitor/store/open-windows.ts'
import { freshClickHouse } from '../support/harness.ts'

const HOUR = 3_600_000
const LATENESS = 600_000
const W = Date.UTC(2026, 10, 2)
const at = (hours: number): number => W + hours * HOUR

describe('windows stored open although their data moved on', () => {
  it('are those whose end plus lateness the newest prediction (or a given time) has reached', async () => {
    const { ch, drop } = await freshClickHouse()
    try {
      const ended = (model: string, by: number | 'newest prediction' = 'newest prediction') => openWindowsEndedBy(ch, model, HOUR, LATENESS, by)
      const summary = (model: string, hour: number, closed: number, version: number) => ({
        model_id: model,
        model_version: 'v1',
        segment: 'all',
        window_size_ms: HOUR,
        window_start: at(hour),
        window_end: at(hour + 1),
        closed,
        data_version: version,
      })
      const prediction = (model: string, t: number, offset: number) => ({
        model_id: model,
        model_version: 'v1',
        prediction_id: `${model}-${offset}`,
        event_time: t,
        event_date: new Date(t).toISOString().slice(0, 10),
        kafka_partition: 0,
        kafka_offset: offset,
      })
      expect(await ended('m')).toEqual([])
      // Hours 0 to 3 stored open; hour 1 computed closed later (the latest row counts); another
      // model's open hour and another size do not count.
      await ch.insert(
        'window_summary',
        [0, 1, 2, 3].map((h) => summary('m', h, 0, 1)),
      )
      await ch.insert('window_summary', [summary('m', 1, 1, 2), summary('other', 0, 0, 1), { ...summary('m', 0, 0, 1), window_size_ms: 2 * HOUR }])
      // A week of older predictions, then the newest at 2 h 10 min: hours 0 and 1 have ended with
      // their lateness, hour 2 not yet.
      await ch.insert('predictions', [
        ...Array.from({ length: 7 * 24 }, (_, i) => prediction('m', at(-7 * 24 + i), i)),
        prediction('m', at(2) + LATENESS, 1_000),
        prediction('other', at(10), 1_001),
      ])
      expect(await ended('m')).toEqual([at(0)])
      await ch.insert('predictions', [prediction('m', at(4) + LATENESS, 1_002)])
      expect((await ended('m')).sort()).toEqual([at(0), at(2), at(3)])
      expect((await ended('m', at(3) + LATENESS)).sort()).toEqual([at(0), at(2)])
      // Only predictions older than the first open window's close: nothing has ended.
      await ch.insert('window_summary', [summary('old', 0, 0, 1)])
      await ch.insert('predictions', [prediction('old', at(0) + HOUR + LATENESS - 1, 2_000), prediction('old', at(-24), 2_001)])
      expect(await ended('old')).toEqual([])
      await ch.insert('predictions', [prediction('old', at(0) + HOUR + LATENESS, 2_002)])
      expect(await ended('old')).toEqual([at(0)])
    } finally {
      await drop()
    }
  })
})
