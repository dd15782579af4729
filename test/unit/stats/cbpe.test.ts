import { describe, expect, it } from 'vitest'
import { binaryMetrics } from '../../../services/shared/stats/classification.ts'
import { estimateBinaryPerformance } from '../../../services/shared/stats/cbpe.ts'
import { seeded } from './support.ts'

describe('estimateBinaryPerformance', () => {
  it('sums expected confusion entries by hand', () => {
    // positive predictions .9 .6: TP .9 + .6, FP .1 + .4; negative .3 .1: FN .3 + .1, TN .7 + .9
    const e = estimateBinaryPerformance([0.9, 0.6, 0.3, 0.1])!
    expect(e.expectedConfusion.tp).toBeCloseTo(1.5, 14)
    expect(e.expectedConfusion.fp).toBeCloseTo(0.5, 14)
    expect(e.expectedConfusion.fn).toBeCloseTo(0.4, 14)
    expect(e.expectedConfusion.tn).toBeCloseTo(1.6, 14)
    expect(e.accuracy).toBeCloseTo(3.1 / 4, 14)
    expect(e.precision).toBeCloseTo(1.5 / 2, 14)
    expect(e.recall).toBeCloseTo(1.5 / 1.9, 14)
    expect(e.f1).toBeCloseTo(3 / 3.9, 14)
  })

  it('predicts positive at the threshold, clamps scores into [0, 1], skips non-finite scores', () => {
    expect(estimateBinaryPerformance([0.7], 0.7)!.expectedConfusion).toEqual({ tp: 0.7, fp: expect.closeTo(0.3, 14), fn: 0, tn: 0 })
    expect(estimateBinaryPerformance([1.2, -0.1, NaN])!.expectedConfusion).toEqual({ tp: 1, fp: 0, fn: 0, tn: 1 })
    expect(estimateBinaryPerformance([])).toBeNull()
    expect(estimateBinaryPerformance([NaN])).toBeNull()
  })

  it('for calibrated scores matches the metrics realised on labels drawn from them', () => {
    const rand = seeded(81)
    const scores = Array.from({ length: 40_000 }, () => rand() ** 2)
    let tp = 0
    let fp = 0
    let fn = 0
    let tn = 0
    for (const s of scores) {
      const positive = rand() < s
      if (s >= 0.5 && positive) tp++
      else if (s >= 0.5) fp++
      else if (positive) fn++
      else tn++
    }
    const realised = binaryMetrics(tp, fp, fn, tn)
    const estimate = estimateBinaryPerformance(scores)!
    for (const k of ['accuracy', 'precision', 'recall', 'f1'] as const) expect(Math.abs(estimate[k] - realised[k])).toBeLessThan(0.015)
  })

  it('is optimistic for over-confident scores (why calibration must be checked)', () => {
    const rand = seeded(82)
    const truthProbability = Array.from({ length: 20_000 }, () => rand())
    // the model reports probabilities pushed towards 0 and 1
    const scores = truthProbability.map((p) => (p >= 0.5 ? Math.min(1, p + 0.3) : Math.max(0, p - 0.3)))
    let correct = 0
    truthProbability.forEach((p, i) => {
      const positive = rand() < p
      if (positive === scores[i]! >= 0.5) correct++
    })
    expect(estimateBinaryPerformance(scores)!.accuracy).toBeGreaterThan(correct / scores.length + 0.1)
  })
})
