import { modelConfigSchema } from '../../services/shared/config/model-config.ts'
import { ALL_SEGMENTS, PREDICTION_SCORE, type FeatureWindowStats, type WindowKey, type WindowSummary } from '../../services/shared/records/window-metrics.ts'
import { mulberry32, randomNormal } from '../../services/shared/stats/index.ts'
import { detectAnomalies } from '../../services/monitor/core/detectors/anomaly.detector.ts'
import { parseDetectorConfig } from '../../services/monitor/core/detectors/detector-config.ts'
import type { Finding, WindowSnapshot } from '../../services/monitor/core/detectors/finding.ts'
import { evidenceQueries } from '../../services/monitor/store/evidence-sql.ts'

// Anomaly calibration by simulation: hourly windows of a binary classifier with a daily and
// weekly cycle in volume, three features with a 5 % null rate, a score whose mean is stable, and
// labels for every prediction (accuracy 0.8), judged by detectAnomalies against the 28 days
// before each window (what the monitor loads). Counts are Poisson, nulls and hits binomial.

export const HOUR = 3_600_000
export const DAY = 24 * HOUR
export const WEEK = 7 * DAY
const FEATURES = ['a', 'b', 'c']

export const anomalyModel = modelConfigSchema.parse({
  model_id: 'calibration',
  task: 'binary_classification',
  positive_class: '1',
  classes: ['0', '1'],
  features: { numeric: FEATURES, categorical: [] },
})

export const anomalyConfig = (raw: Record<string, unknown> = {}) =>
  parseDetectorConfig({ performance: { min_labeled: 20, min_label_coverage: 0.5 }, ...raw }, 'detectors', anomalyModel)

function poisson(rand: () => number, mean: number): number {
  if (mean > 500) return Math.max(0, Math.round(randomNormal(rand, mean, Math.sqrt(mean))))
  const limit = Math.exp(-mean)
  let k = 0
  let p = rand()
  while (p > limit) {
    k++
    p *= rand()
  }
  return k
}

function binomial(rand: () => number, n: number, p: number): number {
  if (n > 1000) return Math.min(n, Math.max(0, Math.round(randomNormal(rand, n * p, Math.sqrt(n * p * (1 - p))))))
  let k = 0
  for (let i = 0; i < n; i++) if (rand() < p) k++
  return k
}

/** Mean volume of the hour starting at `start`: a daily cycle, quieter weekends. */
export function meanVolume(start: number, perWindow: number): number {
  const hour = (start % DAY) / HOUR
  const weekend = Math.floor(start / DAY) % 7 >= 5 ? 0.7 : 1
  return perWindow * weekend * (1 + 0.5 * Math.sin((2 * Math.PI * (hour - 6)) / 24))
}

/** One hourly window; `factor` multiplies its mean volume (a spike). */
export function anomalyWindow(rand: () => number, start: number, perWindow: number, factor = 1): WindowSnapshot {
  const volume = poisson(rand, meanVolume(start, perWindow) * factor)
  const key: WindowKey = { model_id: 'calibration', model_version: 'v1', segment: ALL_SEGMENTS, window_size_ms: HOUR, window_start: start }
  const hits = binomial(rand, volume, 0.8)
  const features: FeatureWindowStats[] = FEATURES.map((feature) => {
    const nulls = binomial(rand, volume, 0.05)
    return {
      key,
      feature,
      categorical: null,
      numeric: { count: volume - nulls, nulls, min: 0, max: 1, mean: 0.5, std: 0.3, bin_edges: [], histogram: [] },
    }
  })
  const scoreMean = volume ? 0.3 + randomNormal(rand, 0, 0.2 / Math.sqrt(volume)) : null
  features.push({
    key,
    feature: PREDICTION_SCORE,
    categorical: null,
    numeric: { count: volume, nulls: 0, min: 0, max: 1, mean: scoreMean, std: volume ? 0.2 : null, bin_edges: [], histogram: [] },
  })
  const summary: WindowSummary = {
    key,
    volume,
    late_count: 0,
    duplicate_count: 0,
    labeled_count: volume,
    label_coverage: volume ? 1 : 0,
    label_delay_p50_ms: null,
    label_delay_p90_ms: null,
    label_delay_p99_ms: null,
    classification: volume
      ? {
          accuracy: hits / volume,
          precision: 0,
          recall: 0,
          f1: 0,
          log_loss: null,
          roc_auc: null,
          calibration_error: null,
          classes: ['0', '1'],
          confusion: { cells: [], counts: [] },
        }
      : null,
    regression: null,
    estimated_accuracy: null,
    business_value: null,
    closed: true,
  }
  return { summary, features }
}

export interface AnomalyRun {
  /** Per judged window: its start and the anomaly findings. */
  judged: { start: number; findings: Finding[] }[]
}

/**
 * Hourly windows from t = 0 for `weeks` weeks; every window after `warmupWeeks` weeks is judged
 * against the 28 days before it. `factor(start)` scales the mean volume (1: stationary).
 */
export function runAnomalySeries(options: {
  seed: number
  perWindow: number
  weeks: number
  warmupWeeks?: number
  factor?: (start: number) => number
  config?: ReturnType<typeof anomalyConfig>
}): AnomalyRun {
  const rand = mulberry32(options.seed)
  const config = options.config ?? anomalyConfig()
  const warmup = (options.warmupWeeks ?? 4) * WEEK
  const windows: WindowSnapshot[] = []
  const judged: AnomalyRun['judged'] = []
  for (let start = 0; start < options.weeks * WEEK; start += HOUR) {
    const current = anomalyWindow(rand, start, options.perWindow, options.factor?.(start) ?? 1)
    if (start >= warmup) {
      const history = windows.filter((w) => w.summary.key.window_start >= start - 28 * DAY)
      const { findings } = detectAnomalies({ model: anomalyModel, evidence: evidenceQueries('driftgate'), config, reference: null, current, history })
      judged.push({ start, findings })
    }
    windows.push(current)
  }
  return { judged }
}
