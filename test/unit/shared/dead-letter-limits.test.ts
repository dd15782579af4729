import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { chunkBySize } from '../../../services/shared/collections/chunk-by-size.ts'
import { capReason, DLQ_HEADERS, DLQ_LIMITS, letterBytes, sendDeadLetters, type DeadLetter } from '../../../services/shared/kafka/dead-letter.ts'
import type { OutgoingRecord } from '../../../services/shared/kafka/records.ts'

const letter = (value: Buffer, reason = 'bad'): DeadLetter => ({
  record: { topic: 'in', partition: 2, offset: '41', key: Buffer.from('k'), value, timestamp: 5, headers: {} },
  code: 'x',
  reason,
  step: 'decode',
})

describe('dead letters that always fit', () => {
  it('caps the reason at 1,000 characters and says how much was cut', () => {
    const long = 'problem; '.repeat(2_000)
    const capped = capReason(long)
    expect(capped.length).toBeLessThanOrEqual(1_000)
    expect(capped.length).toBeGreaterThan(990)
    const cut = Number(/\((\d+) more characters\)$/.exec(capped)![1])
    expect(capped.indexOf(' … (') + cut).toBe(long.length)
    expect(capReason('short')).toBe('short')
  })

  it('replaces a value above the limit by its first bytes, with its length and sha256', async () => {
    const big = Buffer.alloc(1_100_000, 7)
    const sent: OutgoingRecord[][] = []
    const { unsent } = await sendDeadLetters({ send: async (_t, r) => void sent.push(r), close: async () => undefined }, 'dlq', [
      letter(big),
      letter(Buffer.from('small')),
    ])
    expect(unsent).toEqual([])
    const [first, second] = sent.flat()
    expect(first!.value.length).toBe(DLQ_LIMITS.keptBytes)
    expect(first!.headers![DLQ_HEADERS.originalLength]).toBe('1100000')
    expect(first!.headers![DLQ_HEADERS.originalSha256]).toBe(createHash('sha256').update(big).digest('hex'))
    expect(second!.value.toString()).toBe('small')
    expect(second!.headers![DLQ_HEADERS.originalLength]).toBeUndefined()
  })

  it('sends in requests under the size limit, in order', () => {
    const records = Array.from({ length: 4_000 }, (_, i) => ({ key: `k${i}`, value: Buffer.alloc(900, 1) }))
    const chunks = chunkBySize(records, letterBytes, 100_000)
    expect(chunks.flat()).toEqual(records)
    // 900 bytes + key + 64 of overhead per record.
    for (const c of chunks) expect(c.reduce((n, r) => n + r.value.length + (r.key?.length ?? 0) + 64, 0)).toBeLessThanOrEqual(100_000)
    expect(chunks.length).toBe(Math.ceil(4_000 / Math.floor(100_000 / (900 + 6 + 64))))
  })

  it('returns the letters the broker refuses for what they are, and throws when the broker is unreachable', async () => {
    const refusing = {
      send: async (_t: string, r: OutgoingRecord[]) => {
        if (r.some((x) => x.value.toString() === 'refused'))
          throw Object.assign(new Error('The request included a message larger than the max message size the server will accept'), { retriable: false })
      },
      close: async () => undefined,
    }
    const { unsent } = await sendDeadLetters(refusing, 'dlq', [letter(Buffer.from('ok')), letter(Buffer.from('refused')), letter(Buffer.from('ok2'))])
    expect(unsent.map((u) => u.letter.record.value!.toString())).toEqual(['refused'])
    const down = {
      send: async () => {
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9092'), { code: 'ECONNREFUSED' })
      },
      close: async () => undefined,
    }
    await expect(sendDeadLetters(down, 'dlq', [letter(Buffer.from('ok'))])).rejects.toThrow('ECONNREFUSED')
  })
})
