// Classification metrics from labels and scores. Ratios that are undefined for lack of data
// (nothing predicted positive, no positives) are reported as 0, like scikit-learn's
// zero_division=0, so metric records stay plain numbers; functions that need both classes or at
// least one example return null instead. Paired arrays must have equal lengths (a RangeError
// otherwise: mismatched arrays are a bug, and pairing them up silently would hide it). Pairs with
// a non-finite score (NaN, ±Infinity) are skipped, so one bad score cannot turn a metric into NaN.

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b)

function checkPaired(name: string, a: unknown[], b: unknown[]): void {
  if (a.length !== b.length) throw new RangeError(`${name}: arrays differ in length (${a.length} vs ${b.length})`)
}

/** Accuracy, precision, recall and F1, each in [0, 1]. */
export interface ClassificationMetrics {
  accuracy: number
  precision: number
  recall: number
  f1: number
}

/**
 * The confusion matrix of the pairs, rows = truth and columns = predicted, both in the order of
 * `classes`, as its non-zero cells (ConfusionCells; none for no pairs). A pair whose truth or
 * prediction is not in `classes` is left out entirely: such labels are rejected at ingestion, and
 * a matrix has no row or column to put them in. If `classes` lists a label twice, its last
 * position is used.
 */
export function countConfusion(truth: string[], predicted: string[], classes: string[]): ConfusionCells {
  checkPaired('countConfusion', truth, predicted)
  const index = new Map(classes.map((c, i) => [c, i]))
  const k = classes.length
  const counts = new Map<number, number>()
  for (let i = 0; i < truth.length; i++) {
    const t = index.get(truth[i]!)
    const p = index.get(predicted[i]!)
    if (t !== undefined && p !== undefined) counts.set(t * k + p, (counts.get(t * k + p) ?? 0) + 1)
  }
  const cells = [...counts.keys()].sort((a, b) => a - b)
  return { cells, counts: cells.map((c) => counts.get(c)!) }
}

/**
 * Accuracy, precision, recall and F1 of the positive class from the four confusion counts
 * (counts may be fractional, e.g. expected counts). An undefined ratio is 0: precision when
 * nothing is predicted positive (tp + fp = 0), recall when there are no positives (tp + fn = 0),
 * F1 when precision + recall = 0, accuracy when all counts are 0.
 */
export function binaryMetrics(tp: number, fp: number, fn: number, tn: number): ClassificationMetrics {
  const precision = ratio(tp, tp + fp)
  const recall = ratio(tp, tp + fn)
  return { accuracy: ratio(tp + tn, tp + fp + fn + tn), precision, recall, f1: ratio(2 * precision * recall, precision + recall) }
}

/**
 * A confusion matrix of k classes by its non-zero cells: cell `truth × k + predicted` (class
 * indices in the order of the classes), ascending, with its count. A model with thousands of
 * classes has as many cells as its labeled predictions have distinct pairs, not k².
 */
export interface ConfusionCells {
  cells: number[]
  counts: number[]
}

/** The non-zero cells of a square matrix (rows truth, columns predicted). */
export function confusionCells(matrix: number[][]): ConfusionCells {
  const k = matrix.length
  const out: ConfusionCells = { cells: [], counts: [] }
  matrix.forEach((row, t) =>
    row.forEach((count, p) => {
      if (count === 0) return
      out.cells.push(t * k + p)
      out.counts.push(count)
    }),
  )
  return out
}

/** The k × k matrix of the cells. */
export function confusionMatrixOf(c: ConfusionCells, k: number): number[][] {
  const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0))
  c.cells.forEach((cell, i) => (matrix[Math.floor(cell / k)]![cell % k] = c.counts[i]!))
  return matrix
}

/** The count of one cell (0 when absent). */
export function confusionCount(c: ConfusionCells, k: number, truth: number, predicted: number): number {
  const i = c.cells.indexOf(truth * k + predicted)
  return i < 0 ? 0 : c.counts[i]!
}

/** Pairs counted, pairs on the diagonal, and per class the pairs with it as truth, as prediction
 *  and as both (`diagonal`). */
export function confusionTotals(
  c: ConfusionCells,
  k: number,
): { n: number; correct: number; truth: Float64Array; predicted: Float64Array; diagonal: Float64Array } {
  const truth = new Float64Array(k)
  const predicted = new Float64Array(k)
  const diagonal = new Float64Array(k)
  let n = 0
  let correct = 0
  c.cells.forEach((cell, i) => {
    const count = c.counts[i]!
    const t = Math.floor(cell / k)
    const p = cell % k
    n += count
    truth[t]! += count
    predicted[p]! += count
    if (t !== p) return
    correct += count
    diagonal[t] = count
  })
  return { n, correct, truth, predicted, diagonal }
}

/**
 * Accuracy (trace / total) and macro-averaged precision, recall and F1 of a k-class confusion
 * matrix. Each class's F1 is the harmonic mean of its own precision and recall, and the macro F1
 * averages those (scikit-learn's definition).
 *
 * The averages run over the classes that occur in the data, as truth or as prediction (row or
 * column sum > 0), like scikit-learn without an explicit label list: a class absent from a window
 * says nothing about the model there and would otherwise drag every average down. Within those
 * classes an undefined ratio counts as 0 (a class predicted but never true has recall 0).
 * All zeros for an empty matrix.
 */
export function multiclassMetrics(c: ConfusionCells, k: number): ClassificationMetrics {
  const { n, correct, truth, predicted, diagonal } = confusionTotals(c, k)
  let present = 0
  let p = 0
  let r = 0
  let f = 0
  for (let i = 0; i < k; i++) {
    if (truth[i] === 0 && predicted[i] === 0) continue
    present++
    const precision = ratio(diagonal[i]!, predicted[i]!)
    const recall = ratio(diagonal[i]!, truth[i]!)
    p += precision
    r += recall
    f += ratio(2 * precision * recall, precision + recall)
  }
  return { accuracy: ratio(correct, n), precision: ratio(p, present), recall: ratio(r, present), f1: ratio(f, present) }
}

/**
 * Mean binary cross-entropy −(y ln p + (1 − y) ln(1 − p)) of the positive-class scores p.
 * The probability given to the actual outcome (p or 1 − p) is clipped to [clip, 1 − clip], so a
 * confident miss costs −ln(clip) (about 34.5 with the default 1e-15) instead of Infinity; clipping
 * that probability rather than p keeps a miss at p = 1 as costly as one at p = 0 (1 − (1 − 1e-15)
 * is not 1e-15 in floating point). Null when no pair has a finite score. Throws a RangeError
 * unless clip is in (0, 0.5).
 */
export function logLoss(truthIsPositive: boolean[], positiveScores: number[], clip = 1e-15): number | null {
  checkPaired('logLoss', truthIsPositive, positiveScores)
  if (!(clip > 0 && clip < 0.5)) throw new RangeError(`logLoss: clip must be in (0, 0.5), got ${clip}`)
  let sum = 0
  let n = 0
  for (let i = 0; i < truthIsPositive.length; i++) {
    const s = positiveScores[i]!
    if (!Number.isFinite(s)) continue
    const p = Math.min(Math.max(truthIsPositive[i] ? s : 1 - s, clip), 1 - clip)
    sum -= Math.log(p)
    n++
  }
  return n === 0 ? null : sum / n
}

/**
 * Mean multiclass cross-entropy −ln p(true class), with p the true class's score in each row
 * taken as given (rows are not renormalised) and clipped to [clip, 1] as in `logLoss`. Rows whose
 * truth index is not a valid column of the row (e.g. −1 for an unknown label), or whose true-class
 * score is not finite, are skipped, as `countConfusion` skips unknown labels. Null when no row
 * remains.
 */
export function multiclassLogLoss(truthIndex: number[], scoreRows: number[][], clip = 1e-15): number | null {
  checkPaired('multiclassLogLoss', truthIndex, scoreRows)
  if (!(clip > 0 && clip < 1)) throw new RangeError(`multiclassLogLoss: clip must be in (0, 1), got ${clip}`)
  let sum = 0
  let n = 0
  for (let i = 0; i < truthIndex.length; i++) {
    const t = truthIndex[i]!
    const row = scoreRows[i]!
    if (!Number.isInteger(t) || t < 0 || t >= row.length) continue
    const s = row[t]!
    if (!Number.isFinite(s)) continue
    sum -= Math.log(Math.min(Math.max(s, clip), 1))
    n++
  }
  return n === 0 ? null : sum / n
}

/**
 * ROC AUC as the normalised Mann–Whitney U statistic: the probability that a random positive
 * scores higher than a random negative, with ties counting one half. Computed from the rank sum
 * of the positives, using average ranks for tied scores, in O(n log n). Null when either class is
 * absent (after skipping non-finite scores): the probability is then undefined.
 */
export function rocAuc(truthIsPositive: boolean[], scores: number[]): number | null {
  checkPaired('rocAuc', truthIsPositive, scores)
  const pairs: [number, boolean][] = []
  for (let i = 0; i < scores.length; i++) if (Number.isFinite(scores[i]!)) pairs.push([scores[i]!, truthIsPositive[i]!])
  const n = pairs.length
  const positives = pairs.reduce((s, [, y]) => s + (y ? 1 : 0), 0)
  const negatives = n - positives
  if (positives === 0 || negatives === 0) return null
  pairs.sort((a, b) => a[0] - b[0])
  let rankSum = 0
  for (let i = 0; i < n;) {
    let j = i
    while (j + 1 < n && pairs[j + 1]![0] === pairs[i]![0]) j++
    const averageRank = (i + j) / 2 + 1
    for (let k = i; k <= j; k++) if (pairs[k]![1]) rankSum += averageRank
    i = j + 1
  }
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives)
}

/**
 * Expected calibration error: Σ_b (n_b / n) · |mean score in b − positive rate in b| over `bins`
 * equal-width bins of [0, 1]. Bin b holds scores in [b/bins, (b+1)/bins); a score of exactly 1
 * falls in the last bin. Scores outside [0, 1] are clamped into it (scores are probabilities).
 * Empty bins contribute nothing. In [0, 1]; null when no pair has a finite score. Throws a
 * RangeError unless bins is a positive integer.
 */
export function expectedCalibrationError(truthIsPositive: boolean[], scores: number[], bins = 10): number | null {
  checkPaired('expectedCalibrationError', truthIsPositive, scores)
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`expectedCalibrationError: bins must be a positive integer, got ${bins}`)
  const sums = new Array<number>(bins).fill(0)
  const hits = new Array<number>(bins).fill(0)
  const counts = new Array<number>(bins).fill(0)
  let n = 0
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i]!)) continue
    const s = Math.min(1, Math.max(0, scores[i]!))
    const b = Math.min(bins - 1, Math.floor(s * bins))
    sums[b]! += s
    hits[b]! += truthIsPositive[i] ? 1 : 0
    counts[b]!++
    n++
  }
  if (n === 0) return null
  let ece = 0
  for (let b = 0; b < bins; b++) if (counts[b]! > 0) ece += (counts[b]! / n) * Math.abs(sums[b]! / counts[b]! - hits[b]! / counts[b]!)
  return ece
}
