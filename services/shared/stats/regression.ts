/** MAE, RMSE, MAPE (over non-zero truths; null if all are zero) and bias (mean of predicted − truth). */
export function regressionMetrics(truth: number[], predicted: number[]): { mae: number; rmse: number; mape: number | null; bias: number } | null {
  const n = truth.length
  if (n === 0) return null
  let abs = 0
  let sq = 0
  let bias = 0
  let pct = 0
  let pctN = 0
  for (let i = 0; i < n; i++) {
    const e = predicted[i]! - truth[i]!
    abs += Math.abs(e)
    sq += e * e
    bias += e
    if (truth[i] !== 0) {
      pct += Math.abs(e / truth[i]!)
      pctN++
    }
  }
  return { mae: abs / n, rmse: Math.sqrt(sq / n), mape: pctN ? pct / pctN : null, bias: bias / n }
}
