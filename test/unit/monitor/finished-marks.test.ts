import { describe, expect, it, vi } from 'vitest'
import { deferred } from '../../../services/shared/async/deferred.ts'
import { FinishedMarks } from '../../../services/monitor/run/finished-marks.ts'
import type { PartitionMark } from '../../../services/shared/records/partition-mark.ts'
import type { ComputedProgress } from '../../../services/shared/store/computed-progress.ts'
import { testLogger } from '../../support/harness.ts'

function recorder(): { progress: ComputedProgress; writes: PartitionMark[][] } {
  const writes: PartitionMark[][] = []
  const progress = { record: async (marks: PartitionMark[]) => void writes.push(marks) } as unknown as ComputedProgress
  return { progress, writes }
}

const p = (partition: number, maxTimestamp: number, caughtUp = false) => ({ topic: 'predictions', partition, maxTimestamp, caughtUp })

describe('finished marks', () => {
  it('a partition is finished only through batches settled in order, even when a later one settles first', async () => {
    const { progress, writes } = recorder()
    const marks = new FinishedMarks(progress, testLogger('marks'))
    const first = deferred()
    const second = deferred()
    marks.track([p(0, 100)], first.promise)
    marks.track([p(0, 200)], second.promise)
    second.resolve()
    await marks.flush()
    await new Promise((r) => setTimeout(r, 10))
    expect(writes).toEqual([])
    first.resolve()
    await new Promise((r) => setTimeout(r, 10))
    await marks.flush()
    expect(writes).toEqual([[{ ...p(0, 100) }], [{ ...p(0, 200) }]])
  })

  it('caught up only while no later batch of the partition is being computed; a new batch says busy at once', async () => {
    const { progress, writes } = recorder()
    const marks = new FinishedMarks(progress, testLogger('marks'))
    const a = deferred()
    const b = deferred()
    marks.track([p(0, 100, true)], a.promise)
    marks.track([p(0, 150, true)], b.promise)
    a.resolve()
    await new Promise((r) => setTimeout(r, 10))
    await marks.flush()
    // Batch b reached the end too but is not settled: a is not the end of what was read.
    expect(writes.at(-1)).toEqual([p(0, 100, false)])
    b.resolve()
    await new Promise((r) => setTimeout(r, 10))
    await marks.flush()
    expect(writes.at(-1)).toEqual([p(0, 150, true)])
    // New records on a caught-up partition: it is busy (not caught up) before they are computed.
    const c = deferred()
    marks.track([p(0, 170, true)], c.promise)
    await marks.flush()
    expect(writes.at(-1)).toEqual([p(0, 150, false)])
  })

  it('a busy mark ClickHouse refused is written again a second later', async () => {
    vi.useFakeTimers()
    try {
      const writes: PartitionMark[][] = []
      let refuse = 0
      const progress = {
        record: async (m: PartitionMark[]) => {
          if (refuse-- > 0) throw new Error('ClickHouse unreachable')
          writes.push(m)
        },
      } as unknown as ComputedProgress
      const marks = new FinishedMarks(progress, testLogger('marks'))
      marks.track([p(0, 100, true)], Promise.resolve())
      await vi.advanceTimersByTimeAsync(10)
      expect(writes).toEqual([[p(0, 100, true)]])
      // New records stored on the caught-up partition; saying so is refused once.
      refuse = 1
      const b = deferred()
      marks.track([p(0, 150, true)], b.promise)
      await vi.advanceTimersByTimeAsync(10)
      expect(writes).toEqual([[p(0, 100, true)]])
      await vi.advanceTimersByTimeAsync(1_000)
      expect(writes).toEqual([[p(0, 100, true)], [p(0, 100, false)]])
      b.resolve()
      await vi.advanceTimersByTimeAsync(10)
      expect(writes.at(-1)).toEqual([p(0, 150, true)])
      await marks.close()
    } finally {
      vi.useRealTimers()
    }
  })

  it('a batch that failed does not move its partition', async () => {
    const { progress, writes } = recorder()
    const marks = new FinishedMarks(progress, testLogger('marks'))
    const failed = deferred()
    marks.track([p(0, 100)], failed.promise)
    failed.reject(new Error('gave up while stopping'))
    await new Promise((r) => setTimeout(r, 10))
    await marks.flush()
    expect(writes).toEqual([])
  })
})
