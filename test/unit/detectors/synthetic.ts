// Synthetic windows for the detector tests: seeded draws turned into the same statistics the
// monitor writes (histograms on reference quantile bins, category counts), computed here with
// plain loops so the tests do not depend on the code under test to build their inputs.

import { modelConfigSchema, type ModelConfig } from '../../../services/shared/config/model-config.ts'
import type { CategoricalReference, NumericReference, ReferenceProfile } from '../../../services/shared/records/reference-profile.ts'
import type { CategoricalStats, FeatureWindowStats, NumericStats, WindowKey, WindowSummary } from '../../../services/shared/records/window-metrics.ts'
import { parseDetectorConfig, type DetectorConfig } from '../../../services/monitor/core/detectors/detector-config.ts'
import type { DetectorInput, Finding, WindowSnapshot } from '../../../services/monitor/core/detectors/finding.ts'
import { evidenceQueries } from '../../../services/monitor/store/evidence-sql.ts'
import { emptySummary } from '../../../services/monitor/core/windows/window-aggregate.ts'

export const HOUR = 3_600_000
export const DAY = 24 * HOUR
export const WEEK = 7 * DAY
/** Monday 2024-01-01 00:00 UTC. */
export const T0 = Date.UTC(2024, 0, 1)

/** mulberry32: a small seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Box-Muller normal draw. */
export function gaussian(rand: () => number, mean = 0, sd = 1): number {
  const u = Math.max(rand(), 1e-12)
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand())
}

/** Interior quantiles i/k (i = 1..k-1) of a sample: k buckets. */
export function quantileEdges(values: number[], k: number): number[] {
  const sorted = [...values].sort((a, b) => a - b)
  const edges: number[] = []
  for (let i = 1; i < k; i++) edges.push(sorted[Math.floor((i / k) * sorted.length)]!)
  return edges
}

/** Bucket of v: 0 for (-inf, e0), i for [e(i-1), e(i)), k for [e(k-1), +inf). */
export function bucketOf(edges: number[], v: number): number {
  let i = 0
  while (i < edges.length && v >= edges[i]!) i++
  return i
}

export function histogram(edges: number[], values: number[]): number[] {
  const h = new Array<number>(edges.length + 1).fill(0)
  for (const v of values) h[bucketOf(edges, v)]!++
  return h
}

export function numericStats(values: (number | null)[], edges: number[]): NumericStats {
  const present = values.filter((v): v is number => v !== null)
  const nulls = values.length - present.length
  const n = present.length
  if (n === 0) return { count: 0, nulls, min: null, max: null, mean: null, std: null, bin_edges: edges, histogram: new Array<number>(edges.length + 1).fill(0) }
  const mean = present.reduce((a, b) => a + b, 0) / n
  const std = Math.sqrt(present.reduce((a, v) => a + (v - mean) ** 2, 0) / n)
  return { count: n, nulls, min: Math.min(...present), max: Math.max(...present), mean, std, bin_edges: edges, histogram: histogram(edges, present) }
}

export function numericReference(values: number[], edges: number[], nullRate = 0): NumericReference {
  const s = numericStats(values, edges)
  return { bin_edges: edges, histogram: s.histogram, count: s.count, null_rate: nullRate, min: s.min!, max: s.max!, mean: s.mean!, std: s.std! }
}

export function categoricalStats(values: (string | null)[], known: string[]): CategoricalStats {
  const counts = new Map<string, number>()
  let nulls = 0
  for (const v of values) {
    if (v === null) nulls++
    else counts.set(v, (counts.get(v) ?? 0) + 1)
  }
  const categories = [...counts.keys()].sort()
  const c = categories.map((k) => counts.get(k)!)
  const unseen = categories.reduce((sum, k, i) => sum + (known.includes(k) ? 0 : c[i]!), 0)
  return { count: c.reduce((a, b) => a + b, 0), nulls, categories, counts: c, unseen, overflow_values: 0, overflow_count: 0 }
}

export function categoricalReference(values: string[], nullRate = 0): CategoricalReference {
  const s = categoricalStats(values, [])
  return { categories: s.categories, counts: s.counts, count: s.count, null_rate: nullRate }
}

/** Draws from a categorical distribution given as [category, probability][] (probabilities sum to 1). */
export function drawCategory(rand: () => number, dist: [string, number][]): string {
  let u = rand()
  for (const [c, p] of dist) {
    if (u < p) return c
    u -= p
  }
  return dist[dist.length - 1]![0]
}

export function modelConfig(overrides: Record<string, unknown> = {}): ModelConfig {
  return modelConfigSchema.parse({
    model_id: 'churn',
    task: 'binary_classification',
    positive_class: '1',
    classes: ['0', '1'],
    features: { numeric: [], categorical: [] },
    ...overrides,
  })
}

export function detectorConfig(raw: unknown = {}): DetectorConfig {
  return parseDetectorConfig(raw)
}

export function windowKey(windowStart: number, overrides: Partial<WindowKey> = {}): WindowKey {
  return { model_id: 'churn', model_version: 'v1', segment: 'all', window_size_ms: HOUR, window_start: windowStart, ...overrides }
}

export function summary(key: WindowKey, overrides: Partial<WindowSummary> = {}): WindowSummary {
  return { ...emptySummary(key), ...overrides }
}

export function featureRow(key: WindowKey, feature: string, stats: NumericStats | CategoricalStats): FeatureWindowStats {
  return 'bin_edges' in stats ? { key, feature, numeric: stats, categorical: null } : { key, feature, numeric: null, categorical: stats }
}

export function emptyReference(overrides: Partial<ReferenceProfile> = {}): ReferenceProfile {
  return { model_id: 'churn', source: 'training-baseline:test', created_at: T0, numeric: {}, categorical: {}, prediction: {}, performance: {}, ...overrides }
}

export function input(
  model: ModelConfig,
  config: DetectorConfig,
  reference: ReferenceProfile | null,
  current: WindowSnapshot,
  history: WindowSnapshot[] = [],
  extra: Partial<DetectorInput> = {},
): DetectorInput {
  return { model, evidence: evidenceQueries('driftgate'), config, reference, current, history, ...extra }
}

/** PSI of two count vectors without zero buckets: sum (c - r) ln(c / r) on proportions. */
export function psiOf(reference: number[], current: number[]): number {
  const rt = reference.reduce((a, b) => a + b, 0)
  const ct = current.reduce((a, b) => a + b, 0)
  return reference.reduce((sum, r, i) => {
    const p = r / rt
    const q = current[i]! / ct
    return sum + (q - p) * Math.log(q / p)
  }, 0)
}

/** KS statistic of two count vectors on the same buckets: largest gap of the cumulative shares. */
export function ksOf(reference: number[], current: number[]): number {
  const rt = reference.reduce((a, b) => a + b, 0)
  const ct = current.reduce((a, b) => a + b, 0)
  let r = 0
  let c = 0
  let best = 0
  for (let i = 0; i < reference.length; i++) {
    r += reference[i]! / rt
    c += current[i]! / ct
    best = Math.max(best, Math.abs(r - c))
  }
  return best
}

/** A drift finding on feature x1 in the window starting at `start` (PSI 0.31 against 0.2). */
export function driftFinding(start: number): Finding {
  return {
    key: windowKey(start),
    kind: 'drift',
    subject: 'features',
    severity: 'warning',
    measure: 'psi',
    observed: 0.31,
    expected: 0,
    threshold: 0.2,
    evidence: [{ name: 'x1', score: 1.55, detail: 'psi 0.31' }],
    label_coverage: null,
    estimated: false,
    summary: 'drift in 1 of 3 features vs reference: x1 (psi 0.31)',
    runbook: 'compare',
    evidence_query: 'SELECT 1',
  }
}
