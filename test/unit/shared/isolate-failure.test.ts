import { describe, expect, it } from 'vitest'
import { handleIsolating } from '../../../services/shared/kafka/isolate-failure.ts'
import { InfrastructureError } from '../../../services/shared/errors/infrastructure-error.ts'

describe('finding the record that makes a batch fail', () => {
  it('isolates one poison record among 10,000 in about 2·log2(n) calls; every other record is handled and none twice after the split', async () => {
    const records = Array.from({ length: 10_000 }, (_, i) => i)
    const poison = 6_543
    let calls = 0
    const handledOnce = new Map<number, number>()
    const rejected: number[] = []
    const { results } = await handleIsolating(records, {
      handle: async (part) => {
        calls++
        if (part.includes(poison)) throw new Error('Code: 25. bad row')
        for (const r of part) handledOnce.set(r, (handledOnce.get(r) ?? 0) + 1)
        return part.length
      },
      mayBeRecords: async () => true,
      reject: async (r) => void rejected.push(r),
    })
    expect(rejected).toEqual([poison])
    expect(handledOnce.size).toBe(9_999)
    expect([...handledOnce.values()].every((n) => n === 1)).toBe(true)
    expect(results.reduce((a, b) => a + b, 0)).toBe(9_999)
    // One failing call per level (14 levels for 10,000), one succeeding sibling per level, and the
    // lone record tried twice.
    const levels = Math.ceil(Math.log2(records.length))
    expect(calls).toBeLessThanOrEqual(2 * levels + 2)
  })

  it('throws an infrastructure failure at once, rejecting nothing (the caller retries the batch)', async () => {
    const rejected: number[] = []
    let calls = 0
    await expect(
      handleIsolating([1, 2, 3, 4], {
        handle: async () => {
          calls++
          throw new InfrastructureError('ClickHouse unreachable')
        },
        mayBeRecords: async (e) => !(e instanceof InfrastructureError),
        reject: async (r) => void rejected.push(r),
      }),
    ).rejects.toThrow('ClickHouse unreachable')
    expect(calls).toBe(1)
    expect(rejected).toEqual([])
  })

  it('does not blame a lone record for a failure that passes when it is tried again', async () => {
    let failures = 1
    const rejected: number[] = []
    const { results } = await handleIsolating([7], {
      handle: async (part) => {
        if (failures-- > 0) throw new Error('transient')
        return part.length
      },
      mayBeRecords: async () => true,
      reject: async (r) => void rejected.push(r),
    })
    expect(rejected).toEqual([])
    expect(results).toEqual([1])
  })

  it('isolates two poison records in different halves', async () => {
    const rejected: number[] = []
    await handleIsolating(
      Array.from({ length: 100 }, (_, i) => i),
      {
        handle: async (part) => {
          if (part.includes(3) || part.includes(97)) throw new Error('bad')
        },
        mayBeRecords: async () => true,
        reject: async (r) => void rejected.push(r),
      },
    )
    expect(rejected).toEqual([3, 97])
  })
})
