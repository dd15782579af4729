// Confidence-based performance estimation (CBPE, as in NannyML) for binary classifiers: an
// estimate of accuracy, precision, recall and F1 from the scores alone, before labels arrive.

import { binaryMetrics } from './classification.ts'

/** Expected confusion counts (fractional) and the metrics computed from them. */
export interface EstimatedBinaryPerformance {
  accuracy: number
  precision: number
  recall: number
  f1: number
  expectedConfusion: { tp: number; fp: number; fn: number; tn: number }
}

/**
 * CBPE for a calibrated binary classifier. A prediction with positive-class score p is positive
 * when p ≥ threshold. If the scores are calibrated, the label is positive with probability p, so
 * a positive prediction adds p to the expected TP and 1 − p to the expected FP, and a negative one
 * adds p to the expected FN and 1 − p to the expected TN. The metrics are then computed from the
 * expected confusion matrix with `binaryMetrics` (an undefined ratio is 0).
 *
 * The estimate is only as good as the calibration: compare it with the realised metrics (and
 * watch calibration_error) on windows that have labels. Scores outside [0, 1] are clamped into
 * it; non-finite scores are skipped. Null when no finite score remains.
 */
export function estimateBinaryPerformance(positiveScores: number[], threshold = 0.5): EstimatedBinaryPerformance | null {
  let tp = 0
  let fp = 0
  let fn = 0
  let tn = 0
  let n = 0
  for (const score of positiveScores) {
    if (!Number.isFinite(score)) continue
    const p = Math.min(1, Math.max(0, score))
    if (score >= threshold) {
      tp += p
      fp += 1 - p
    } else {
      fn += p
      tn += 1 - p
    }
    n++
  }
  if (n === 0) return null
  return { ...binaryMetrics(tp, fp, fn, tn), expectedConfusion: { tp, fp, fn, tn } }
}
