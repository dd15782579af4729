// Regression error metrics from paired truths and predictions.

/** Error metrics of a regression model; see `regressionMetrics`. */
export interface RegressionMetrics {
  /** Mean absolute error, mean |ŷ − y|. */
  mae: number
  /** Root mean squared error, √(mean (ŷ − y)²). */
  rmse: number
  /** Mean absolute percentage error as a fraction (0.1 = 10%), mean |ŷ − y| / |y| over y ≠ 0; null if every y is 0. */
  mape: number | null
  /** Mean signed error, mean (ŷ − y): positive when the model over-predicts. */
  bias: number
}

/**
 * MAE, RMSE, MAPE and bias of `predicted` against `truth`.
 *
 * MAPE skips pairs whose truth is 0 (the percentage error is undefined there), so it is the mean
 * over the non-zero truths only, and null when every truth is 0. It is a fraction, not a
 * percentage. Pairs in which either number is not finite are skipped entirely; null when no pair
 * remains. Throws a RangeError when the arrays differ in length (a bug, not data).
 */
export function regressionMetrics(truth: number[], predicted: number[]): RegressionMetrics | null {
  if (truth.length !== predicted.length) throw new RangeError(`regressionMetrics: arrays differ in length (${truth.length} vs ${predicted.length})`)
  let n = 0
  let abs = 0
  let sq = 0
  let bias = 0
  let pct = 0
  let pctN = 0
  for (let i = 0; i < truth.length; i++) {
    const y = truth[i]!
    const yhat = predicted[i]!
    if (!Number.isFinite(y) || !Number.isFinite(yhat)) continue
    const e = yhat - y
    n++
    abs += Math.abs(e)
    sq += e * e
    bias += e
    if (y !== 0) {
      pct += Math.abs(e / y)
      pctN++
    }
  }
  if (n === 0) return null
  return { mae: abs / n, rmse: Math.sqrt(sq / n), mape: pctN > 0 ? pct / pctN : null, bias: bias / n }
}
