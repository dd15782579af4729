import { describe, expect, it } from 'vitest'
import { mulberry32, randomInt, randomNormal } from '../../../services/shared/stats/random.ts'

describe('mulberry32', () => {
  it('repeats a sequence for a seed and differs between seeds', () => {
    const a = mulberry32(42)
    const b = mulberry32(42)
    const c = mulberry32(43)
    const xs = Array.from({ length: 100 }, () => a())
    expect(Array.from({ length: 100 }, () => b())).toEqual(xs)
    expect(Array.from({ length: 100 }, () => c())).not.toEqual(xs)
  })

  it('yields values in [0, 1) spread evenly over ten bins', () => {
    const rand = mulberry32(5)
    const n = 100_000
    const bins = new Array<number>(10).fill(0)
    let outside = 0
    for (let i = 0; i < n; i++) {
      const x = rand()
      if (!(x >= 0 && x < 1)) outside++
      else bins[Math.floor(x * 10)]!++
    }
    expect(outside).toBe(0)
    // Pearson statistic against uniform; the 0.1% critical value for 9 dof is 27.88
    const chi2 = bins.reduce((s, o) => s + (o - n / 10) ** 2 / (n / 10), 0)
    expect(chi2).toBeLessThan(27.88)
  })
})

describe('randomInt and randomNormal', () => {
  it('randomInt covers 0..n-1 and rejects a bad n', () => {
    const rand = mulberry32(6)
    const seen = new Set<number>()
    for (let i = 0; i < 1000; i++) {
      const k = randomInt(rand, 7)
      expect(Number.isInteger(k) && k >= 0 && k < 7).toBe(true)
      seen.add(k)
    }
    expect(seen.size).toBe(7)
    expect(randomInt(() => 0.9999999999, 3)).toBe(2)
    expect(() => randomInt(rand, 0)).toThrow(RangeError)
  })

  it('randomNormal has the requested mean and standard deviation', () => {
    const rand = mulberry32(7)
    const xs = Array.from({ length: 50_000 }, () => randomNormal(rand, 3, 2))
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length
    const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length)
    // standard errors: 2/√n ≈ 0.009 for the mean, about 0.006 for the sd
    expect(Math.abs(mean - 3)).toBeLessThan(0.04)
    expect(Math.abs(sd - 2)).toBeLessThan(0.03)
    expect(xs.every(Number.isFinite)).toBe(true)
  })
})
