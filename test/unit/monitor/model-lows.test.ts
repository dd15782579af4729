import { describe, expect, it } from 'vitest'
import { modelLows, type ModelProgressRow } from '../../../services/monitor/core/windows/model-lows.ts'

const IDLE = 10_000
const NOW = 1_000_000
const caught = (...partitions: number[]) => [0, 1, 2].map((partition) => ({ partition, caughtUp: partitions.includes(partition) }))
const read = (model: string, partition: number, eventTime: number, readAt: number, firstRead = readAt): ModelProgressRow[] => [
  { model_id: model, partition, kind: 'event_time', value: eventTime },
  { model_id: model, partition, kind: 'read_at', value: readAt },
  { model_id: model, partition, kind: 'first_read', value: firstRead },
]

describe("a model's low watermark", () => {
  it('is the least newest event time of the model over the partitions, whatever other models read', () => {
    const rows = [
      ...read('a', 0, 500, NOW),
      ...read('a', 1, 300, NOW),
      ...read('a', 2, 400, NOW),
      ...read('b', 0, 9_000, NOW),
      ...read('b', 1, 9_000, NOW),
      ...read('b', 2, 9_000, NOW),
    ]
    expect(modelLows(['a', 'b'], caught(), 3, rows, NOW, IDLE)).toEqual(
      new Map([
        ['a', 300],
        ['b', 9_000],
      ]),
    )
  })

  it('is held by a partition the model never had a record on until it has been quiet there for the idle time', () => {
    const rows = [...read('a', 0, 500, NOW - 5_000), ...read('a', 1, 600, NOW - 5_000)]
    // Partition 2 read to its end, nothing of the model there: held for the idle time since its first read.
    expect(modelLows(['a'], caught(0, 1, 2), 3, rows, NOW, IDLE).get('a')).toBe(-Infinity)
    expect(modelLows(['a'], caught(0, 1, 2), 3, rows, NOW + 5_000, IDLE).get('a')).toBe(Infinity)
    // Not read to its end (a backlog): held however long.
    expect(modelLows(['a'], caught(0, 1), 3, rows, NOW + 60_000, IDLE).get('a')).toBe(-Infinity)
  })

  it('lets a caught-up partition go once the model has been quiet on it, and not before', () => {
    const rows = [...read('a', 0, 500, NOW - 20_000), ...read('a', 1, 600, NOW - 2_000, NOW - 20_000), ...read('a', 2, 700, NOW - 20_000)]
    expect(modelLows(['a'], caught(0, 1, 2), 3, rows, NOW, IDLE).get('a')).toBe(600)
    expect(modelLows(['a'], caught(0, 2), 3, rows, NOW, IDLE).get('a')).toBe(600)
    expect(modelLows(['a'], caught(0, 1, 2), 3, rows, NOW + 8_000, IDLE).get('a')).toBe(Infinity)
  })

  it('is -Infinity while some partition was never read at all', () => {
    const rows = [...read('a', 0, 500, NOW - 60_000), ...read('a', 1, 600, NOW - 60_000)]
    expect(modelLows(['a'], caught(0, 1).slice(0, 2), 3, rows, NOW, IDLE).get('a')).toBe(-Infinity)
  })
})
