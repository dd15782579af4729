import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ReferenceProfile } from '../../services/shared/records/reference-profile.ts'

// The benchmarked model: 20 features (12 numeric, 8 categorical) whose distributions are known
// in closed form, so the reference profile can be written exactly and drift appears only where
// the bench puts it (the trigger model's shifted traffic).

export const NUMERIC = Array.from({ length: 12 }, (_, j) => `n${String(j).padStart(2, '0')}`)
export const CATEGORICAL = Array.from({ length: 8 }, (_, j) => `c${String(j).padStart(2, '0')}`)
export const CHANNELS = ['web', 'app', 'branch']

/** Mean and standard deviation of numeric feature j. */
export const numericParams = (j: number): { mean: number; sd: number } => ({ mean: j, sd: 1 + j / 10 })
/** Features with missing values, and how often. */
export const NULL_RATE: Record<string, number> = { n03: 0.03, n07: 0.03, c05: 0.01 }

/** Categories of categorical feature j with Zipf-like probabilities. */
export function categories(j: number): { values: string[]; probabilities: number[] } {
  const k = 3 + 2 * j
  const weights = Array.from({ length: k }, (_, i) => 1 / (i + 1))
  const total = weights.reduce((a, b) => a + b, 0)
  return { values: weights.map((_, i) => `c${j}_v${i}`), probabilities: weights.map((w) => w / total) }
}

const DECILE_Z = [-1.2816, -0.8416, -0.5244, -0.2533, 0, 0.2533, 0.5244, 0.8416, 1.2816]

function referenceProfile(modelId: string): ReferenceProfile {
  const count = 100_000
  const profile: ReferenceProfile = {
    model_id: modelId,
    source: 'bench',
    created_at: 0,
    numeric: {},
    categorical: {},
    prediction: {},
    performance: { accuracy: 0.75, labeled_count: count },
  }
  NUMERIC.forEach((name, j) => {
    const { mean, sd } = numericParams(j)
    profile.numeric[name] = {
      bin_edges: DECILE_Z.map((z) => mean + sd * z),
      histogram: new Array<number>(DECILE_Z.length + 1).fill(count / (DECILE_Z.length + 1)),
      count,
      null_rate: NULL_RATE[name] ?? 0,
      min: mean - 6 * sd,
      max: mean + 6 * sd,
      mean,
      std: sd,
    }
  })
  CATEGORICAL.forEach((name, j) => {
    const { values, probabilities } = categories(j)
    profile.categorical[name] = { categories: values, counts: probabilities.map((p) => Math.round(p * count)), count, null_rate: NULL_RATE[name] ?? 0 }
  })
  return profile
}

const modelBlock = (modelId: string, windows: string, lateness: string, detectors = ''): string => `  - model_id: ${modelId}
    task: binary_classification
    positive_class: "1"
    classes: ["0", "1"]
    features:
      numeric: [${NUMERIC.join(', ')}]
      categorical: [${CATEGORICAL.join(', ')}]
    reference_profile: reference-${modelId}.json
    windows: [${windows}]
    segments: [channel]
    allowed_lateness: ${lateness}
    label_horizon: 30d
${detectors}`

/**
 * Writes the bench's driftgate config: the benchmarked model (windows 1h and 1d) and a second
 * model on one-minute windows whose alerts fire on the first window with a finding, used to time
 * window close -> trigger without waiting an hour per window. Returns the config path.
 */
export function writeBenchConfig(modelId: string, triggerModelId: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'driftgate-bench-'))
  for (const id of [modelId, triggerModelId]) writeFileSync(join(dir, `reference-${id}.json`), JSON.stringify(referenceProfile(id)))
  const path = join(dir, 'driftgate.yaml')
  const fastAlerts = '    detectors:\n      hygiene: { fire_after: { n: 1, m: 1 } }\n'
  writeFileSync(path, `models:\n${modelBlock(modelId, '1h, 1d', '10m')}${modelBlock(triggerModelId, '1m', '0s', fastAlerts)}`)
  return path
}
