import { describe, expect, it } from 'vitest'
import {
  binaryMetrics,
  confusionCells,
  confusionCount,
  confusionMatrixOf,
  confusionTotals,
  countConfusion,
  expectedCalibrationError,
  logLoss,
  multiclassLogLoss,
  multiclassMetrics,
  rocAuc,
} from '../../../services/shared/stats/classification.ts'
import { close, int, seeded } from './support.ts'

/** AUC by brute force: fraction of (positive, negative) pairs ordered correctly, ties ½. */
function pairwiseAuc(truth: boolean[], scores: number[]): number {
  let good = 0
  let pairs = 0
  for (let i = 0; i < truth.length; i++) {
    if (!truth[i]) continue
    for (let j = 0; j < truth.length; j++) {
      if (truth[j]) continue
      pairs++
      if (scores[i]! > scores[j]!) good += 1
      else if (scores[i] === scores[j]) good += 0.5
    }
  }
  return good / pairs
}

describe('countConfusion', () => {
  it('counts truth rows × predicted columns and leaves out unknown labels', () => {
    const truth = ['a', 'a', 'b', 'c', 'b', 'x', 'a']
    const predicted = ['a', 'b', 'b', 'a', 'b', 'a', 'y']
    const counted = countConfusion(truth, predicted, ['a', 'b', 'c'])
    expect(counted).toEqual({ cells: [0, 1, 4, 6], counts: [1, 1, 2, 1] })
    expect(confusionMatrixOf(counted, 3)).toEqual([
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 0],
    ])
    expect(countConfusion([], [], ['a', 'b'])).toEqual({ cells: [], counts: [] })
    expect(countConfusion(['a'], ['a'], [])).toEqual({ cells: [], counts: [] })
  })

  it('rejects arrays of different lengths', () => {
    expect(() => countConfusion(['a'], [], ['a'])).toThrow(RangeError)
  })
})

describe('binaryMetrics', () => {
  it('matches hand values', () => {
    const m = binaryMetrics(8, 2, 4, 6)
    expect(m.accuracy).toBeCloseTo(14 / 20, 14)
    expect(m.precision).toBeCloseTo(8 / 10, 14)
    expect(m.recall).toBeCloseTo(8 / 12, 14)
    // F1 = 2TP / (2TP + FP + FN)
    expect(m.f1).toBeCloseTo(16 / 22, 14)
  })

  it('reports undefined ratios as 0', () => {
    expect(binaryMetrics(0, 0, 0, 0)).toEqual({ accuracy: 0, precision: 0, recall: 0, f1: 0 })
    expect(binaryMetrics(0, 0, 5, 5)).toEqual({ accuracy: 0.5, precision: 0, recall: 0, f1: 0 })
    expect(binaryMetrics(0, 3, 0, 7)).toEqual({ accuracy: 0.7, precision: 0, recall: 0, f1: 0 })
  })
})

describe('confusion cells', () => {
  it('keep the non-zero cells of a matrix in ascending order, and give it back', () => {
    const m = [
      [5, 0, 2],
      [0, 0, 1],
      [3, 4, 0],
    ]
    const c = confusionCells(m)
    expect(c).toEqual({ cells: [0, 2, 5, 6, 7], counts: [5, 2, 1, 3, 4] })
    expect(confusionMatrixOf(c, 3)).toEqual(m)
    expect(confusionCount(c, 3, 2, 1)).toBe(4)
    expect(confusionCount(c, 3, 1, 1)).toBe(0)
    const totals = confusionTotals(c, 3)
    expect([totals.n, totals.correct]).toEqual([15, 5])
    expect([...totals.truth]).toEqual([7, 1, 7])
    expect([...totals.predicted]).toEqual([8, 4, 3])
    expect([...totals.diagonal]).toEqual([5, 0, 0])
  })

  it('of 5,000 classes, metrics equal those counted from the label lists', () => {
    // The full matrix would be 25,000,000 numbers; the cells are at most one per labeled pair.
    const rand = seeded(7)
    const k = 5_000
    const classes = Array.from({ length: k }, (_, i) => `c${i}`)
    const truth = Array.from({ length: 20_000 }, () => int(rand, k))
    const predicted = truth.map((t) => (rand() < 0.7 ? t : int(rand, k)))
    const byCell = new Map<number, number>()
    truth.forEach((t, i) => byCell.set(t * k + predicted[i]!, (byCell.get(t * k + predicted[i]!) ?? 0) + 1))
    const cells = [...byCell.keys()].sort((a, b) => a - b)
    const m = multiclassMetrics({ cells, counts: cells.map((c) => byCell.get(c)!) }, k)
    const present = classes.map((_, c) => c).filter((c) => truth.includes(c) || predicted.includes(c))
    let p = 0
    let r = 0
    let f = 0
    const tp = new Array<number>(k).fill(0)
    const asTruth = new Array<number>(k).fill(0)
    const asPredicted = new Array<number>(k).fill(0)
    truth.forEach((t, i) => {
      asTruth[t]!++
      asPredicted[predicted[i]!]!++
      if (t === predicted[i]) tp[t]!++
    })
    for (const c of present) {
      const pc = asPredicted[c] ? tp[c]! / asPredicted[c]! : 0
      const rc = asTruth[c] ? tp[c]! / asTruth[c]! : 0
      p += pc
      r += rc
      f += pc + rc ? (2 * pc * rc) / (pc + rc) : 0
    }
    expect(m.accuracy).toBeCloseTo(tp.reduce((a, b) => a + b, 0) / truth.length, 12)
    expect(m.precision).toBeCloseTo(p / present.length, 12)
    expect(m.recall).toBeCloseTo(r / present.length, 12)
    expect(m.f1).toBeCloseTo(f / present.length, 12)
  })
})

/** multiclassMetrics of a full matrix, given by its cells. */
const metricsOf = (m: number[][]) => multiclassMetrics(confusionCells(m), m.length)

describe('multiclassMetrics', () => {
  it('macro-averages per-class precision, recall and F1 (hand example)', () => {
    // class a: tp 5, col 7, row 6; b: tp 3, col 5, row 4; c: tp 2, col 3, row 5
    const confusion = [
      [5, 1, 0],
      [0, 3, 1],
      [2, 1, 2],
    ]
    const prec = [5 / 7, 3 / 5, 2 / 3]
    const rec = [5 / 6, 3 / 4, 2 / 5]
    const f1 = prec.map((p, i) => (2 * p * rec[i]!) / (p + rec[i]!))
    const m = metricsOf(confusion)
    expect(m.accuracy).toBeCloseTo(10 / 15, 14)
    expect(m.precision).toBeCloseTo((prec[0]! + prec[1]! + prec[2]!) / 3, 14)
    expect(m.recall).toBeCloseTo((rec[0]! + rec[1]! + rec[2]!) / 3, 14)
    expect(m.f1).toBeCloseTo((f1[0]! + f1[1]! + f1[2]!) / 3, 14)
  })

  it('averages over the classes that occur, as truth or prediction', () => {
    // c never occurs: a perfect model on a and b scores 1, not 2/3
    expect(
      metricsOf([
        [4, 0, 0],
        [0, 6, 0],
        [0, 0, 0],
      ]),
    ).toEqual({ accuracy: 1, precision: 1, recall: 1, f1: 1 })
    // c is predicted once but never true: it counts, with precision 0 and recall 0
    const m = metricsOf([
      [4, 0, 1],
      [0, 5, 0],
      [0, 0, 0],
    ])
    expect(m.precision).toBeCloseTo((1 + 1 + 0) / 3, 14)
    expect(m.recall).toBeCloseTo((4 / 5 + 1 + 0) / 3, 14)
  })

  it('is all zeros for an empty matrix', () => {
    expect(metricsOf([])).toEqual({ accuracy: 0, precision: 0, recall: 0, f1: 0 })
    expect(
      metricsOf([
        [0, 0],
        [0, 0],
      ]),
    ).toEqual({ accuracy: 0, precision: 0, recall: 0, f1: 0 })
  })

  it('on random labels equals per-class counts taken from the label lists', () => {
    const rand = seeded(41)
    const classes = ['a', 'b', 'c', 'd', 'e']
    for (let trial = 0; trial < 50; trial++) {
      const n = 1 + int(rand, 200)
      // class 'e' never occurs
      const truth = Array.from({ length: n }, () => classes[int(rand, 4)]!)
      const predicted = truth.map((t) => (rand() < 0.6 ? t : classes[int(rand, 4)]!))
      const present = classes.filter((c) => truth.includes(c) || predicted.includes(c))
      let p = 0
      let r = 0
      let f = 0
      for (const c of present) {
        const tp = truth.filter((t, i) => t === c && predicted[i] === c).length
        const fp = truth.filter((t, i) => t !== c && predicted[i] === c).length
        const fn = truth.filter((t, i) => t === c && predicted[i] !== c).length
        const pc = tp + fp ? tp / (tp + fp) : 0
        const rc = tp + fn ? tp / (tp + fn) : 0
        p += pc
        r += rc
        f += pc + rc ? (2 * pc * rc) / (pc + rc) : 0
      }
      const m = multiclassMetrics(countConfusion(truth, predicted, classes), classes.length)
      expect(m.accuracy).toBeCloseTo(truth.filter((t, i) => t === predicted[i]).length / n, 12)
      expect(m.precision).toBeCloseTo(p / present.length, 12)
      expect(m.recall).toBeCloseTo(r / present.length, 12)
      expect(m.f1).toBeCloseTo(f / present.length, 12)
    }
  })
})

describe('logLoss', () => {
  it('matches hand values and clips confident misses', () => {
    expect(logLoss([true, false], [0.8, 0.3])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.7)) / 2, 14)
    expect(logLoss([true], [0])).toBeCloseTo(-Math.log(1e-15), 10)
    expect(logLoss([false], [1])).toBeCloseTo(-Math.log(1e-15), 10)
    expect(logLoss([true], [0], 1e-3)).toBeCloseTo(-Math.log(1e-3), 12)
  })

  it('skips non-finite scores and is null without any pair', () => {
    expect(logLoss([true, false, true], [0.8, NaN, Infinity])).toBeCloseTo(-Math.log(0.8), 14)
    expect(logLoss([], [])).toBeNull()
    expect(logLoss([true], [NaN])).toBeNull()
    expect(() => logLoss([true], [])).toThrow(RangeError)
  })
})

describe('multiclassLogLoss', () => {
  it('averages −ln of the true class score, skipping rows with an invalid truth index', () => {
    const rows = [
      [0.7, 0.2, 0.1],
      [0.1, 0.1, 0.8],
      [0.3, 0.3, 0.4],
      [0.3, 0.3, 0.4],
    ]
    expect(multiclassLogLoss([0, 2, 1, -1], rows)).toBeCloseTo(-(Math.log(0.7) + Math.log(0.8) + Math.log(0.3)) / 3, 14)
    expect(multiclassLogLoss([1], [[1, 0]])).toBeCloseTo(-Math.log(1e-15), 10)
    expect(multiclassLogLoss([], [])).toBeNull()
    expect(multiclassLogLoss([3], [[0.5, 0.5]])).toBeNull()
  })
})

describe('rocAuc', () => {
  it('matches a hand example with a tie', () => {
    // pairs: .9>.1, .9>.4, .4>.1, .4=.4 → 3.5 / 4
    expect(rocAuc([true, false, true, false], [0.9, 0.1, 0.4, 0.4])).toBeCloseTo(0.875, 14)
    expect(rocAuc([true, false], [0.2, 0.8])).toBe(0)
    expect(rocAuc([true, false], [0.5, 0.5])).toBe(0.5)
  })

  it('is null when a class is absent', () => {
    expect(rocAuc([true, true], [0.1, 0.2])).toBeNull()
    expect(rocAuc([false], [0.1])).toBeNull()
    expect(rocAuc([], [])).toBeNull()
    expect(rocAuc([true, false], [0.3, NaN])).toBeNull()
  })

  it('equals the pairwise fraction on random data with many ties', () => {
    const rand = seeded(42)
    for (let trial = 0; trial < 100; trial++) {
      const n = 2 + int(rand, 80)
      const truth = Array.from({ length: n }, () => rand() < 0.4)
      const scores = truth.map((t) => Math.round((rand() + (t ? 0.3 : 0)) * 5) / 5)
      const auc = rocAuc(truth, scores)
      if (!truth.some((t) => t) || truth.every((t) => t)) {
        expect(auc).toBeNull()
        continue
      }
      expect(auc!).toBeCloseTo(pairwiseAuc(truth, scores), 12)
    }
  })

  it('handles 200 000 predictions (exact value from per-score class counts)', () => {
    const rand = seeded(43)
    const n = 200_000
    const truth = Array.from({ length: n }, () => rand() < 0.3)
    const scores = truth.map((t) => Math.min(99, Math.floor(rand() * 100 + (t ? 10 : 0))))
    const pos = new Array<number>(100).fill(0)
    const neg = new Array<number>(100).fill(0)
    truth.forEach((t, i) => (t ? pos : neg)[scores[i]!]!++)
    let good = 0
    let below = 0
    for (let s = 0; s < 100; s++) {
      good += pos[s]! * (below + neg[s]! / 2)
      below += neg[s]!
    }
    const positives = pos.reduce((a, b) => a + b, 0)
    expect(rocAuc(truth, scores)!).toBeCloseTo(good / (positives * (n - positives)), 10)
  })
})

describe('expectedCalibrationError', () => {
  it('matches a hand example', () => {
    // bin 0: mean .05, rate 0; bin 1: .15 vs 1; bin 9: .95 vs .5 (two of four predictions)
    const ece = expectedCalibrationError([false, true, true, false], [0.05, 0.15, 0.95, 0.95])
    expect(ece).toBeCloseTo(0.05 / 4 + 0.85 / 4 + (0.45 * 2) / 4, 14)
  })

  it('puts a score of 1 in the last bin and clamps out-of-range scores', () => {
    expect(expectedCalibrationError([true, true], [1, 0.9], 2)).toBeCloseTo(1 - 0.95, 14)
    expect(expectedCalibrationError([true], [1.5])).toBeCloseTo(0, 14)
    expect(expectedCalibrationError([false], [-0.5])).toBeCloseTo(0, 14)
  })

  it('is 0 when each bin’s scores equal its positive rate, null with no scores, and rejects bad bins', () => {
    expect(expectedCalibrationError([true, false, false, false, true, true, true, false], [0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75])).toBeCloseTo(0, 14)
    expect(expectedCalibrationError([], [])).toBeNull()
    expect(() => expectedCalibrationError([true], [0.5], 0)).toThrow(RangeError)
  })

  it('on random data equals the bin-by-bin definition', () => {
    const rand = seeded(44)
    for (let trial = 0; trial < 30; trial++) {
      const n = 1 + int(rand, 500)
      const bins = 1 + int(rand, 15)
      const scores = Array.from({ length: n }, () => rand())
      const truth = scores.map((s) => rand() < s * s)
      let expected = 0
      for (let b = 0; b < bins; b++) {
        const inBin = scores.map((s, i) => [s, i] as const).filter(([s]) => s >= b / bins && (b === bins - 1 ? s <= 1 : s < (b + 1) / bins))
        if (inBin.length === 0) continue
        const meanScore = inBin.reduce((a, [s]) => a + s, 0) / inBin.length
        const rate = inBin.filter(([, i]) => truth[i]).length / inBin.length
        expected += (inBin.length / n) * Math.abs(meanScore - rate)
      }
      expect(close(expectedCalibrationError(truth, scores, bins)!, expected, 1e-10)).toBe(true)
    }
  })
})
