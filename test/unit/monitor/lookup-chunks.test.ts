import { describe, expect, it } from 'vitest'
import { lookupChunks } from '../../../services/monitor/store/lookup-chunks.ts'

describe('lookupChunks', () => {
  it('keeps every id once, in order, as a quoted literal', () => {
    const ids = Array.from({ length: 45 }, (_, i) => `p-${i}'x`)
    const chunks = lookupChunks(ids, 10, 1_000_000)
    expect(chunks.map((c) => c.length)).toEqual([10, 10, 10, 10, 5])
    expect(chunks.flat()).toEqual(ids.map((id) => `'${id.replace("'", "\\'")}'`))
  })

  it('bounds the bytes of each list, separators included', () => {
    const ids = Array.from({ length: 100 }, (_, i) => `id-${String(i).padStart(6, '0')}-é`)
    // Each id: 11 characters, 12 bytes (é takes two); quoted and with its separator: 16 bytes.
    const chunks = lookupChunks(ids, 1_000, 16 * 7)
    expect(chunks.map((c) => c.length)).toEqual([...Array<number>(14).fill(7), 2])
    for (const c of chunks) expect(c.reduce((s, l) => s + Buffer.byteLength(l) + 2, 0)).toBeLessThanOrEqual(16 * 7)
  })

  it('gives an id longer than the byte limit a list of its own', () => {
    const long = 'x'.repeat(500)
    expect(lookupChunks(['a', long, 'b'], 10, 100).map((c) => c.length)).toEqual([1, 1, 1])
    expect(lookupChunks([], 10, 100)).toEqual([])
  })
})
