import { describe, expect, it } from 'vitest'
import { StallWatch } from '../../../services/shared/kafka/stall-watch.ts'

const p = (partition: number, committed: number, high: number) => ({ topic: 't', partition, committed: BigInt(committed), low: 0n, high: BigInt(high) })

describe('stall watch', () => {
  it('is red only while a partition with lag keeps its committed offset past the limit, and says which one', () => {
    let now = 0
    const watch = new StallWatch(120_000, () => now)
    watch.observe([p(0, 10, 20), p(1, 5, 5)])
    now = 119_000
    watch.observe([p(0, 10, 25), p(1, 5, 5)])
    expect(watch.healthy()).toBe(true)
    now = 121_000
    watch.observe([p(0, 10, 25), p(1, 5, 5)])
    expect(watch.healthy()).toBe(false)
    expect(watch.stalls()).toEqual([
      { topic: 't', partition: 0, seconds: 121 },
      { topic: 't', partition: 1, seconds: 0 },
    ])
    now = 130_000
    watch.observe([p(0, 11, 25), p(1, 5, 5)])
    expect(watch.healthy()).toBe(true)
    expect(watch.stalls()[0]!.seconds).toBe(0)
  })

  it('never calls a partition with nothing to read stuck, and counts from the low watermark before any commit', () => {
    let now = 0
    const watch = new StallWatch(1_000, () => now)
    watch.observe([{ topic: 't', partition: 0, committed: -1n, low: 7n, high: 7n }])
    now = 10_000
    watch.observe([{ topic: 't', partition: 0, committed: -1n, low: 7n, high: 7n }])
    expect(watch.healthy()).toBe(true)
    watch.observe([{ topic: 't', partition: 0, committed: -1n, low: 7n, high: 8n }])
    now = 12_000
    watch.observe([{ topic: 't', partition: 0, committed: -1n, low: 7n, high: 8n }])
    expect(watch.healthy()).toBe(false)
  })

  it('is red when progress cannot be checked for the limit, and forgets revoked partitions', () => {
    let now = 0
    const watch = new StallWatch(1_000, () => now)
    watch.observe([p(0, 1, 9)])
    now = 2_000
    expect(watch.healthy()).toBe(false)
    watch.observe([])
    expect(watch.stalls()).toEqual([])
    expect(watch.healthy()).toBe(true)
  })
})
