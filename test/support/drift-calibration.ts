import type { ModelConfig } from '../../services/shared/config/model-config.ts'
import { modelConfigSchema } from '../../services/shared/config/model-config.ts'
import type { PredictionEvent } from '../../services/shared/events/types.ts'
import type { ReferenceProfile } from '../../services/shared/records/reference-profile.ts'
import { ALL_SEGMENTS, type WindowKey } from '../../services/shared/records/window-metrics.ts'
import { bucketIndex, mulberry32, randomNormal } from '../../services/shared/stats/index.ts'
import { detectDrift } from '../../services/monitor/core/detectors/drift.detector.ts'
import { buildReferenceProfile } from '../../services/monitor/core/reference/build-reference.ts'
import { buildRuntimeModel, type RuntimeModel } from '../../services/monitor/core/runtime-model.ts'
import { emptySummary, featuresFromAggregates, type FeatureAggregateRow } from '../../services/monitor/core/windows/window-aggregate.ts'
import { evidenceQueries } from '../../services/monitor/store/evidence-sql.ts'

// Drift calibration by simulation: a 50,000-row reference built by build-reference.ts, then
// windows of stationary or shifted data for each feature kind, aggregated per reference bin and
// category as the window queries return them, turned into window statistics by
// featuresFromAggregates and judged by detectDrift with the model's detector config: the same
// path as the monitor, minus Kafka and ClickHouse. A feature is flagged in a window when the
// window's drift finding lists it.

export const NUMERIC_KINDS = ['normal', 'lognormal', 't3', 'poisson', 'nulls30'] as const
export const CATEGORICAL_KINDS = ['cat5', 'cat50', 'cat500'] as const
export type FeatureKind = (typeof NUMERIC_KINDS)[number] | (typeof CATEGORICAL_KINDS)[number]
export const FEATURE_KINDS: FeatureKind[] = [...NUMERIC_KINDS, ...CATEGORICAL_KINDS]

const LEVELS: Record<(typeof CATEGORICAL_KINDS)[number], number> = { cat5: 5, cat50: 50, cat500: 500 }

type Rand = () => number

function poisson(rand: Rand, mean: number): number {
  const limit = Math.exp(-mean)
  let k = 0
  let p = rand()
  while (p > limit) {
    k++
    p *= rand()
  }
  return k
}

/**
 * One draw of a numeric kind, its mean moved by `delta`; null for the nulls of 'nulls30'. A count
 * moves by its rate (a fractional count does not exist) and a lognormal by its scale (it stays
 * positive); the others are moved as they are.
 */
function drawNumeric(kind: (typeof NUMERIC_KINDS)[number], rand: Rand, delta = 0): number | null {
  if (kind === 'poisson') return poisson(rand, 3 + delta)
  if (kind === 'lognormal') return Math.exp(randomNormal(rand)) * (1 + delta / Math.exp(0.5))
  const v = drawPlain(kind, rand)
  return v === null ? null : v + delta
}

function drawPlain(kind: (typeof NUMERIC_KINDS)[number], rand: Rand): number | null {
  switch (kind) {
    case 'normal':
      return randomNormal(rand)
    case 'lognormal':
      return Math.exp(randomNormal(rand))
    case 't3': {
      const z = randomNormal(rand)
      let chi = 0
      for (let i = 0; i < 3; i++) chi += randomNormal(rand) ** 2
      return z / Math.sqrt(chi / 3)
    }
    case 'poisson':
      return poisson(rand, 3)
    case 'nulls30':
      return rand() < 0.3 ? null : randomNormal(rand, 10, 2)
  }
}

/** Zipf-like category probabilities (p_i ∝ 1 / (i + 1)): a few frequent values and a long tail. */
function zipf(levels: number): number[] {
  const w = Array.from({ length: levels }, (_, i) => 1 / (i + 1))
  const sum = w.reduce((a, b) => a + b, 0)
  return w.map((x) => x / sum)
}

/**
 * The same probabilities with `tv` of the mass moved: categories at even rank gain, those at odd
 * rank lose, each side in proportion to its share, so the total variation is exactly `tv`.
 */
function moved(p: number[], tv: number): number[] {
  const even = p.reduce((s, x, i) => s + (i % 2 === 0 ? x : 0), 0)
  const odd = 1 - even
  return p.map((x, i) => (i % 2 === 0 ? x * (1 + tv / even) : x * (1 - tv / odd)))
}

function sampler(p: number[]): (rand: Rand) => string {
  const cumulative: number[] = []
  let s = 0
  for (const x of p) cumulative.push((s += x))
  return (rand) => {
    const u = rand() * s
    let lo = 0
    let hi = cumulative.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (cumulative[mid]! > u) hi = mid
      else lo = mid + 1
    }
    return `v${lo}`
  }
}

export interface Calibration {
  model: ModelConfig
  runtime: RuntimeModel
  reference: ReferenceProfile
}

/** The simulated model (regression, one feature per kind) and its reference from `rows` draws. */
export function calibrationModel(rows = 50_000, seed = 1, detectors: Record<string, unknown> = {}): Calibration {
  const model = modelConfigSchema.parse({
    model_id: 'calibration',
    task: 'regression',
    features: { numeric: [...NUMERIC_KINDS], categorical: [...CATEGORICAL_KINDS] },
    // Every value of the 500-level feature is kept: a window that lumps values into __other__ is not judged on its mix.
    max_category_values: 1_000,
    detectors: { drift: { max_evidence: 100 }, ...detectors },
  })
  const rand = mulberry32(seed)
  const samplers = Object.fromEntries(CATEGORICAL_KINDS.map((k) => [k, sampler(zipf(LEVELS[k]))]))
  const events: PredictionEvent[] = []
  for (let i = 0; i < rows; i++) {
    events.push({
      prediction_id: `r${i}`,
      model_id: 'calibration',
      model_version: 'v1',
      event_time: 0,
      numeric_features: Object.fromEntries(NUMERIC_KINDS.map((k) => [k, drawNumeric(k, rand)])),
      categorical_features: Object.fromEntries(CATEGORICAL_KINDS.map((k) => [k, samplers[k]!(rand)])),
      prediction: { predicted_class: null, scores: {}, value: randomNormal(rand) },
      segments: {},
    })
  }
  const reference = buildReferenceProfile(model, events, [], { source: 'training-baseline:calibration', now: 0 })
  return { model, runtime: buildRuntimeModel(model, reference), reference }
}

export interface Shift {
  /** Mean shift of every numeric feature in reference standard deviations. */
  meanShift?: number
  /** Share of every categorical feature's values moved between categories. */
  mix?: number
}

const KEY = (start: number): WindowKey => ({
  model_id: 'calibration',
  model_version: 'v1',
  segment: ALL_SEGMENTS,
  window_size_ms: 3_600_000,
  window_start: start,
})

/**
 * One window of n predictions as the window queries would aggregate it: per numeric feature one
 * row per reference bin (count, mean, squared deviations, min, max; nulls counted on bucket 0),
 * per categorical feature one row per value.
 */
export function windowRows(cal: Calibration, rand: Rand, n: number, start: number, shift: Shift = {}): FeatureAggregateRow[] {
  const rows: FeatureAggregateRow[] = []
  const base = { window_start: start, model_version: 'v1', segment_keys: [] as string[] }
  for (const kind of NUMERIC_KINDS) {
    const edges = cal.runtime.binEdges.get(kind)!
    const delta = (shift.meanShift ?? 0) * cal.reference.numeric[kind]!.std
    const buckets = Array.from({ length: edges.length + 1 }, () => ({ rows: 0, count: 0, mean: 0, m2: 0, min: Infinity, max: -Infinity }))
    for (let i = 0; i < n; i++) {
      const v = drawNumeric(kind, rand, delta)
      if (v === null) {
        buckets[0]!.rows++
        continue
      }
      const b = buckets[bucketIndex(edges, v)]!
      b.rows++
      b.count++
      const d = v - b.mean
      b.mean += d / b.count
      b.m2 += d * (v - b.mean)
      b.min = Math.min(b.min, v)
      b.max = Math.max(b.max, v)
    }
    buckets.forEach((b, bucket) => {
      if (b.rows === 0) return
      rows.push({
        ...base,
        feature: kind,
        kind: 0,
        bucket,
        category: null,
        n_rows: b.rows,
        n_values: b.count,
        min_value: b.count ? b.min : null,
        max_value: b.count ? b.max : null,
        mean_value: b.count ? b.mean : null,
        m2: b.count ? b.m2 : null,
      })
    })
  }
  for (const kind of CATEGORICAL_KINDS) {
    const p = zipf(LEVELS[kind])
    const draw = sampler(shift.mix ? moved(p, shift.mix) : p)
    const counts = new Map<string, number>()
    for (let i = 0; i < n; i++) {
      const c = draw(rand)
      counts.set(c, (counts.get(c) ?? 0) + 1)
    }
    for (const [category, count] of counts)
      rows.push({
        ...base,
        feature: kind,
        kind: 1,
        bucket: 0,
        category,
        n_rows: count,
        n_values: count,
        min_value: null,
        max_value: null,
        mean_value: null,
        m2: null,
      })
  }
  return rows
}

/** Features the window's drift finding lists (kind 'drift', against the reference). */
export function flaggedFeatures(cal: Calibration, rows: FeatureAggregateRow[], n: number, start: number): Set<string> {
  const key = KEY(start)
  const features = featuresFromAggregates(cal.runtime, [key], rows)
  const summary = { ...emptySummary(key), volume: n }
  const { findings } = detectDrift({
    model: cal.model,
    evidence: evidenceQueries('driftgate'),
    config: cal.runtime.detectors,
    reference: cal.reference,
    current: { summary, features },
    history: [],
  })
  return new Set(findings.filter((f) => f.kind === 'drift').flatMap((f) => f.evidence.map((e) => e.name)))
}

export interface CellRate {
  kind: FeatureKind
  n: number
  windows: number
  flagged: number
}

/** Flag counts per feature kind for `windows` windows of n predictions each. */
export function calibrationCells(
  cal: Calibration,
  n: number,
  windows: number,
  seed: number,
  shift: Shift = {},
  onFlaggedWindow: (window: number) => void = () => {},
): CellRate[] {
  const rand = mulberry32(seed)
  const flagged = new Map<FeatureKind, number>(FEATURE_KINDS.map((k) => [k, 0]))
  for (let w = 0; w < windows; w++) {
    const start = w * 3_600_000
    const features = flaggedFeatures(cal, windowRows(cal, rand, n, start, shift), n, start)
    if (features.size) onFlaggedWindow(w)
    for (const f of features) flagged.set(f as FeatureKind, (flagged.get(f as FeatureKind) ?? 0) + 1)
  }
  return FEATURE_KINDS.map((kind) => ({ kind, n, windows, flagged: flagged.get(kind)! }))
}
