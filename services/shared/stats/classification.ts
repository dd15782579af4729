/** Confusion matrix, rows = truth, columns = predicted, in the order of `classes`. Pairs with a
 *  label outside `classes` are left out (they are rejected at ingestion anyway). */
export function confusionMatrix(truth: string[], predicted: string[], classes: string[]): number[][] {
  const index = new Map(classes.map((c, i) => [c, i]))
  const matrix = classes.map(() => new Array<number>(classes.length).fill(0))
  for (let i = 0; i < truth.length; i++) {
    const t = index.get(truth[i]!)
    const p = index.get(predicted[i]!)
    if (t !== undefined && p !== undefined) matrix[t]![p]!++
  }
  return matrix
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b)

/** Accuracy, precision, recall and F1 of the positive class; an undefined ratio (nothing
 *  predicted positive, no positives) counts as 0, as scikit-learn's zero_division=0. */
export function binaryMetrics(tp: number, fp: number, fn: number, tn: number): { accuracy: number; precision: number; recall: number; f1: number } {
  const precision = ratio(tp, tp + fp)
  const recall = ratio(tp, tp + fn)
  return { accuracy: ratio(tp + tn, tp + fp + fn + tn), precision, recall, f1: ratio(2 * precision * recall, precision + recall) }
}

/** Accuracy and macro-averaged precision, recall and F1 from a confusion matrix. */
export function multiclassMetrics(confusion: number[][]): { accuracy: number; precision: number; recall: number; f1: number } {
  const k = confusion.length
  let correct = 0
  let n = 0
  let p = 0
  let r = 0
  let f = 0
  for (let i = 0; i < k; i++) {
    const tp = confusion[i]![i]!
    const rowSum = confusion[i]!.reduce((a, b) => a + b, 0)
    const colSum = confusion.reduce((s, row) => s + row[i]!, 0)
    correct += tp
    n += rowSum
    const precision = ratio(tp, colSum)
    const recall = ratio(tp, rowSum)
    p += precision
    r += recall
    f += ratio(2 * precision * recall, precision + recall)
  }
  return { accuracy: ratio(correct, n), precision: ratio(p, k), recall: ratio(r, k), f1: ratio(f, k) }
}

/** Mean binary cross-entropy; scores clipped to [clip, 1 − clip] so a confident miss is finite. */
export function logLoss(truthIsPositive: boolean[], positiveScores: number[], clip = 1e-15): number | null {
  if (truthIsPositive.length === 0) return null
  let sum = 0
  for (let i = 0; i < truthIsPositive.length; i++) {
    const p = Math.min(Math.max(positiveScores[i]!, clip), 1 - clip)
    sum -= truthIsPositive[i] ? Math.log(p) : Math.log(1 - p)
  }
  return sum / truthIsPositive.length
}

/** Mean multiclass cross-entropy of the true class's score (clipped at 1e-15). */
export function multiclassLogLoss(truthIndex: number[], scoreRows: number[][]): number | null {
  if (truthIndex.length === 0) return null
  let sum = 0
  for (let i = 0; i < truthIndex.length; i++) sum -= Math.log(Math.max(scoreRows[i]![truthIndex[i]!] ?? 0, 1e-15))
  return sum / truthIndex.length
}

/** ROC AUC as the Mann–Whitney U statistic with average ranks for ties: the probability that a
 *  random positive scores above a random negative (ties count one half). Null without both classes. */
export function rocAuc(truthIsPositive: boolean[], scores: number[]): number | null {
  const n = scores.length
  const positives = truthIsPositive.filter(Boolean).length
  const negatives = n - positives
  if (positives === 0 || negatives === 0) return null
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0])
  let rankSum = 0
  for (let i = 0; i < n; ) {
    let j = i
    while (j + 1 < n && order[j + 1]![0] === order[i]![0]) j++
    const averageRank = (i + j) / 2 + 1
    for (let k = i; k <= j; k++) if (truthIsPositive[order[k]![1]]) rankSum += averageRank
    i = j + 1
  }
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives)
}

/** Expected calibration error: |mean score − positive rate| per equal-width bin on [0, 1],
 *  weighted by the bin's share of predictions (a score of exactly 1 falls in the last bin). */
export function expectedCalibrationError(truthIsPositive: boolean[], scores: number[], bins = 10): number | null {
  const n = scores.length
  if (n === 0) return null
  const sums = new Array<number>(bins).fill(0)
  const hits = new Array<number>(bins).fill(0)
  const counts = new Array<number>(bins).fill(0)
  for (let i = 0; i < n; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(scores[i]! * bins)))
    sums[b]! += scores[i]!
    hits[b]! += truthIsPositive[i] ? 1 : 0
    counts[b]!++
  }
  let ece = 0
  for (let b = 0; b < bins; b++) if (counts[b]) ece += (counts[b]! / n) * Math.abs(sums[b]! / counts[b]! - hits[b]! / counts[b]!)
  return ece
}
