import { describe, expect, it } from 'vitest'
import { finishedThrough, type StoredMark } from '../../../services/shared/store/computed-progress.ts'

const NOW = 1_000_000
const mark = (topic: string, partition: number, maxTimestamp: number, caughtUp = false, updatedAt = NOW): StoredMark => ({
  topic,
  partition,
  maxTimestamp,
  caughtUp,
  updatedAt,
})
const parts = new Map([
  ['p', 2],
  ['l', 1],
])

describe('finished data time over partitions', () => {
  it('is the least partition mark over both topics', () => {
    expect(finishedThrough([mark('p', 0, 500), mark('p', 1, 300), mark('l', 0, 400)], parts, NOW, 10_000)).toBe(300)
  })

  it('knows nothing while a partition has no mark', () => {
    expect(finishedThrough([mark('p', 0, 500), mark('l', 0, 400)], parts, NOW, 10_000)).toBe(-Infinity)
  })

  it('a caught-up partition holds nothing back only once it has been idle long enough', () => {
    const marks = (updatedAt: number): StoredMark[] => [mark('p', 0, 500), mark('p', 1, 100, true, updatedAt), mark('l', 0, 400)]
    expect(finishedThrough(marks(NOW - 9_999), parts, NOW, 10_000)).toBe(100)
    expect(finishedThrough(marks(NOW - 10_000), parts, NOW, 10_000)).toBe(400)
    const allIdle = [mark('p', 0, 500, true, 0), mark('p', 1, 100, true, 0), mark('l', 0, 400, true, 0)]
    expect(finishedThrough(allIdle, parts, NOW, 10_000)).toBe(Infinity)
  })
})
