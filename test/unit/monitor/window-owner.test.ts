import { describe, expect, it } from 'vitest'
import { coversRowsStoredAt, ownerPartition } from '../../../services/monitor/core/windows/window-owner.ts'

describe('window owner', () => {
  it('is the 32-bit FNV-1a hash of the model id modulo the partitions (published test vectors)', () => {
    expect(ownerPartition('a', 1_000_000_000)).toBe(0xe40c292c % 1_000_000_000)
    expect(ownerPartition('foobar', 1_000_000_007)).toBe(0xbf9cf968 % 1_000_000_007)
    expect(ownerPartition('', 7)).toBe(0x811c9dc5 % 7)
  })

  it('spreads model ids over the partitions', () => {
    const counts = new Array<number>(6).fill(0)
    for (let i = 0; i < 6_000; i++) counts[ownerPartition(`model-${i}`, 6)]!++
    // Binomial(6000, 1/6): mean 1000, sd 29; 5 sd either side.
    for (const c of counts) expect(Math.abs(c - 1_000)).toBeLessThan(145)
  })

  it('counts a computation as covering rows only if it began in a later ClickHouse second', () => {
    expect(coversRowsStoredAt(101, 100)).toBe(true)
    expect(coversRowsStoredAt(100, 100)).toBe(false)
    expect(coversRowsStoredAt(99, 100)).toBe(false)
    expect(coversRowsStoredAt(undefined, 100)).toBe(false)
  })
})
