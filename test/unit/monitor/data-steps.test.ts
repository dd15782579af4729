import { describe, expect, it } from 'vitest'
import { partitionsElsewhere, readyThrough, stepOf } from '../../../services/monitor/core/windows/data-steps.ts'

const H = 3_600_000

describe('data-time steps', () => {
  it('puts a record in the step it ends in, a time on the grid in the step it ends, and a late one in the next step to compute', () => {
    expect(stepOf(10 * H + 1, H, -Infinity)).toBe(11 * H)
    expect(stepOf(11 * H, H, -Infinity)).toBe(11 * H)
    // Step 11 h was computed already: a record stamped in it counts in the next one.
    expect(stepOf(10 * H + 1, H, 11 * H)).toBe(12 * H)
    expect(stepOf(15 * H + 1, H, 11 * H)).toBe(16 * H)
  })

  it('is ready through the least stored time, except for partitions read to their end and quiet for a while', () => {
    const now = 1_000_000
    const behind = { max: 10 * H, caughtUp: false, at: now }
    const ahead = { max: 14 * H, caughtUp: false, at: now }
    expect(readyThrough([behind, ahead], now, 10_000)).toBe(10 * H)
    // Read to its end just now: still counts (more may come within the step).
    expect(readyThrough([{ ...behind, caughtUp: true }, ahead], now, 10_000)).toBe(10 * H)
    // Read to its end and quiet for the idle time: holds nothing back.
    expect(readyThrough([{ ...behind, caughtUp: true, at: now - 10_000 }, ahead], now, 10_000)).toBe(14 * H)
    expect(readyThrough([{ ...behind, caughtUp: true, at: now - 10_000 }], now, 10_000)).toBe(Infinity)
    // A partition assigned but not read yet holds everything back; no partition: nothing is ready.
    expect(readyThrough([{ max: -Infinity, caughtUp: false, at: now }, ahead], now, 10_000)).toBe(-Infinity)
    expect(readyThrough([], now, 10_000)).toBe(-Infinity)
  })

  it('names the partitions another instance reads', () => {
    const assigned = [0, 2].flatMap((partition) => ['p', 'l'].map((topic) => ({ topic, partition })))
    expect(partitionsElsewhere(assigned, ['p', 'l'], 3)).toEqual(['p:1', 'l:1'])
    expect(partitionsElsewhere([...assigned, { topic: 'p', partition: 1 }, { topic: 'l', partition: 1 }], ['p', 'l'], 3)).toEqual([])
  })
})
