import { describe, expect, it } from 'vitest'
import { capCategories } from '../../../services/monitor/core/windows/window-aggregate.ts'

describe('categories past max_category_values', () => {
  it('keeps the most frequent (ties by name) and counts the rest under __other__, whatever the input order', () => {
    const counts: [string, number][] = [
      ['b', 5],
      ['a', 5],
      ['c', 9],
      ['d', 1],
      ['e', 2],
      ['f', 2],
    ]
    const forward = capCategories(new Map(counts), 3)
    const backward = capCategories(new Map([...counts].reverse()), 3)
    expect(forward).toEqual(backward)
    // c (9), then a and b (5 each, a first by name) are kept; e, f, d (5 events) collapse.
    expect(forward).toEqual({ count: 24, categories: ['a', 'b', 'c', '__other__'], counts: [5, 5, 9, 5], overflow_values: 3, overflow_count: 5 })
  })

  it("changes nothing at or under the limit, and puts a producer's own __other__ in the bucket", () => {
    expect(
      capCategories(
        new Map([
          ['y', 1],
          ['x', 2],
        ]),
        2,
      ),
    ).toEqual({ count: 3, categories: ['x', 'y'], counts: [2, 1], overflow_values: 0, overflow_count: 0 })
    expect(
      capCategories(
        new Map([
          ['x', 2],
          ['__other__', 4],
        ]),
        2,
      ),
    ).toEqual({ count: 6, categories: ['x', '__other__'], counts: [2, 4], overflow_values: 0, overflow_count: 0 })
  })
})
