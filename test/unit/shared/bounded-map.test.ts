import { describe, expect, it } from 'vitest'
import { BoundedMap } from '../../../services/shared/collections/bounded-map.ts'

describe('BoundedMap', () => {
  it('forgets the oldest entry once it holds more than its bound', () => {
    const m = new BoundedMap<string, number>(3)
    for (const [k, v] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
      ['d', 4],
    ] as const)
      m.set(k, v)
    expect(m.size).toBe(3)
    expect(m.has('a')).toBe(false)
    expect([...m]).toEqual([
      ['b', 2],
      ['c', 3],
      ['d', 4],
    ])
  })

  it('makes a key set again the newest, so it outlives those set before it', () => {
    const m = new BoundedMap<string, number>(2)
    m.set('a', 1)
    m.set('b', 2)
    m.set('a', 10)
    m.set('c', 3)
    expect([...m]).toEqual([
      ['a', 10],
      ['c', 3],
    ])
    expect(m.get('a')).toBe(10)
    expect(m.delete('a')).toBe(true)
    expect(m.size).toBe(1)
  })
})
