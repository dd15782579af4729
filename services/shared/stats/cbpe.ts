/**
 * Confidence-based performance estimation (as NannyML's CBPE) for a calibrated binary
 * classifier: with score p, a prediction is positive when p ≥ threshold and is right with
 * probability p (if positive) or 1 − p (if negative). Summing these gives the expected confusion
 * matrix, and from it the expected metrics, before any label arrives. Only as good as the
 * calibration: check calibration_error on labeled windows.
 */
export function estimateBinaryPerformance(
  positiveScores: number[],
  threshold = 0.5,
): { accuracy: number; precision: number; recall: number; f1: number; expectedConfusion: { tp: number; fp: number; fn: number; tn: number } } | null {
  if (positiveScores.length === 0) return null
  let tp = 0
  let fp = 0
  let fn = 0
  let tn = 0
  for (const p of positiveScores) {
    if (p >= threshold) {
      tp += p
      fp += 1 - p
    } else {
      fn += p
      tn += 1 - p
    }
  }
  const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b)
  const precision = ratio(tp, tp + fp)
  const recall = ratio(tp, tp + fn)
  return { accuracy: (tp + tn) / positiveScores.length, precision, recall, f1: ratio(2 * precision * recall, precision + recall), expectedConfusion: { tp, fp, fn, tn } }
}
