import { describe, expect, it } from 'vitest'
import { lookupChunks } from '../../../services/monitor/store/lookup-chunks.ts'

describe('lookupChunks', () => {
  it('keeps every id once, in order', () => {
    const ids = Array.from({ length: 45 }, (_, i) => `p-${i}'x`)
    expect(lookupChunks(ids, 100).flat()).toEqual(ids)
  })

  it('bounds the bytes each list takes in SQL, escapes and separators included', () => {
    const ids = Array.from({ length: 100 }, (_, i) => `id-${String(i).padStart(6, '0')}-é'`)
    // Each id: 12 characters, 13 bytes (é takes two), 14 with the quote escaped, 15 with its separator.
    const chunks = lookupChunks(ids, 15 * 7)
    expect(chunks.map((c) => c.length)).toEqual([...Array<number>(14).fill(7), 2])
  })

  it('gives an id longer than the byte limit a list of its own', () => {
    const long = 'x'.repeat(500)
    expect(lookupChunks(['a', long, 'b'], 100).map((c) => c.length)).toEqual([1, 1, 1])
    expect(lookupChunks([], 100)).toEqual([])
  })
})
