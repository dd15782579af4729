import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClickHouse } from '../../services/shared/clickhouse/client.ts'
import { lit } from '../../services/shared/clickhouse/sql.ts'
import { loadDriftgateConfig } from '../../services/shared/config/model-config.ts'
import type { ReferenceProfile } from '../../services/shared/records/reference-profile.ts'
import { labelRow } from '../../services/monitor/core/ingest/event-rows.ts'
import { predictionRow } from '../support/prediction-rows.ts'
import { loadRuntimeModels } from '../../services/monitor/run/runtime-models.ts'
import { driftgate } from '../support/cli-run.ts'
import { recordAt, samplePrediction } from '../support/events.ts'
import { freshClickHouse } from '../support/harness.ts'

// `driftgate windows rebuild` as an operator runs it after changing a model's reference profile:
// every window with stored rows recomputed under the new bins, the others left as they were.

const HOUR = 3_600_000
const MODEL = 'rebuild-model'
const T0 = Date.UTC(2026, 10, 9)
const HOURS = 4
const PER_HOUR = 15
const dir = mkdtempSync(join(tmpdir(), 'rebuild-it-'))
const configPath = join(dir, 'driftgate.yaml')
const profilePath = join(dir, 'reference.json')
let ch: ClickHouse
let drop: () => Promise<void>

const xOf = (i: number): number => (i % 7) * 0.5 // 0, 0.5, ..., 3
const labeled = (i: number): boolean => i % 3 !== 0

function writeProfile(edges: number[]): void {
  const profile: ReferenceProfile = {
    model_id: MODEL,
    source: 'test',
    created_at: 0,
    numeric: { x: { bin_edges: edges, histogram: [...edges, 0].map(() => 1), count: edges.length + 1, null_rate: 0, min: 0, max: 3, mean: 1, std: 1 } },
    categorical: {},
    prediction: {},
    performance: { accuracy: 0.8, labeled_count: 10 },
  }
  writeFileSync(profilePath, JSON.stringify(profile))
}

/** Per hour, the reference-bin histogram of x computed here: (-inf, e0), [e0, e1), ..., [ek, inf). */
function expectedHistogram(hour: number, edges: number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0)
  for (let k = 0; k < PER_HOUR; k++) counts[edges.filter((e) => xOf(hour * PER_HOUR + k) >= e).length]!++
  return counts
}

async function stored(): Promise<{
  summaries: Map<number, { volume: number; labeled_count: number; as_of: number }>
  bins: Map<number, { bin_edges: number[]; histogram: number[] }>
}> {
  const summaries = await ch.query<{ window_start: number; volume: number; labeled_count: number; as_of: number }>(
    `SELECT window_start, volume, labeled_count, as_of FROM ${ch.table('window_summary')} FINAL WHERE model_id = ${lit(MODEL)} AND segment = 'all'`,
  )
  const features = await ch.query<{ window_start: number; bin_edges: number[]; histogram: number[] }>(
    `SELECT window_start, bin_edges, histogram FROM ${ch.table('window_feature_stats')} FINAL WHERE model_id = ${lit(MODEL)} AND segment = 'all' AND feature = 'x'`,
  )
  return {
    summaries: new Map(
      summaries.map((r) => [Number(r.window_start), { volume: Number(r.volume), labeled_count: Number(r.labeled_count), as_of: Number(r.as_of) }]),
    ),
    bins: new Map(features.map((r) => [Number(r.window_start), { bin_edges: r.bin_edges, histogram: r.histogram.map(Number) }])),
  }
}

beforeAll(async () => {
  ;({ ch, drop } = await freshClickHouse())
  writeProfile([1, 2])
  writeFileSync(
    configPath,
    `models:
  - model_id: ${MODEL}
    task: binary_classification
    positive_class: "1"
    classes: ["0", "1"]
    features: { numeric: [x], categorical: [] }
    reference_profile: reference.json
    windows: [1h]
    allowed_lateness: 10m
`,
  )
  const model = loadRuntimeModels(loadDriftgateConfig(configPath)).get(MODEL)!
  const predictions = Array.from({ length: HOURS * PER_HOUR }, (_, i) =>
    samplePrediction({
      prediction_id: `r-${i}`,
      model_id: MODEL,
      event_time: T0 + Math.floor(i / PER_HOUR) * HOUR + (i % PER_HOUR) * 4 * 60_000,
      numeric_features: { x: xOf(i) },
      categorical_features: {},
      segments: {},
    }),
  )
  await ch.insert(
    'predictions',
    predictions.map((p, i) => predictionRow(p, model, recordAt(i, p.event_time + 1000), 1)),
  )
  await ch.insert(
    'labels',
    predictions
      .map((p, i) => ({ p, i }))
      .filter(({ i }) => labeled(i))
      .map(({ p, i }) =>
        labelRow(
          { prediction_id: p.prediction_id, model_id: MODEL, label_time: p.event_time + 60_000, label_class: '1', label_value: null },
          recordAt(i, p.event_time + 61_000),
          2,
        ),
      ),
  )
})

afterAll(async () => {
  await drop()
  rmSync(dir, { recursive: true, force: true })
})

describe('driftgate windows rebuild', () => {
  it("recomputes every stored window of the model, then under a new profile's bins only those of the range", async () => {
    const cli = (args: string[]) =>
      driftgate(['windows', 'rebuild', '--model', MODEL, ...args], { DRIFTGATE_CONFIG: configPath, CLICKHOUSE_DATABASE: ch.database })
    const starts = Array.from({ length: HOURS }, (_, h) => T0 + h * HOUR)
    const newest = T0 + (HOURS - 1) * HOUR + (PER_HOUR - 1) * 4 * 60_000 + 61_000

    const first = await cli([])
    expect(first).toMatchObject({ code: 0, err: '' })
    expect(first.out).toMatch(new RegExp(`${MODEL}: ${HOURS} windows of 60 min recomputed`))
    let now = await stored()
    expect([...now.summaries.keys()].sort()).toEqual(starts)
    starts.forEach((start, h) => {
      const ids = Array.from({ length: PER_HOUR }, (_, k) => h * PER_HOUR + k)
      expect(now.summaries.get(start)).toEqual({ volume: PER_HOUR, labeled_count: ids.filter(labeled).length, as_of: newest })
      expect(now.bins.get(start)).toEqual({ bin_edges: [1, 2], histogram: expectedHistogram(h, [1, 2]) })
    })

    // New bins; rebuilt from the second hour on.
    writeProfile([0.5, 1.5, 2.5])
    const second = await cli(['--from', new Date(starts[1]!).toISOString()])
    expect(second).toMatchObject({ code: 0, err: '' })
    expect(second.out).toMatch(new RegExp(`${MODEL}: ${HOURS - 1} windows of 60 min recomputed`))
    now = await stored()
    expect(now.bins.get(starts[0]!)).toEqual({ bin_edges: [1, 2], histogram: expectedHistogram(0, [1, 2]) })
    for (let h = 1; h < HOURS; h++) expect(now.bins.get(starts[h]!)).toEqual({ bin_edges: [0.5, 1.5, 2.5], histogram: expectedHistogram(h, [0.5, 1.5, 2.5]) })
  })

  it('refuses a model not in the config and a reversed range, in one line', async () => {
    const env = { DRIFTGATE_CONFIG: configPath, CLICKHOUSE_DATABASE: ch.database }
    const unknown = await driftgate(['windows', 'rebuild', '--model', 'nope'], env)
    expect(unknown.code).toBe(1)
    expect(unknown.err.trim()).toMatch(/^.*model 'nope' is not in the config \(models: rebuild-model\)$/)
    const reversed = await driftgate(['windows', 'rebuild', '--model', MODEL, '--from', '2026-11-10', '--to', '2026-11-09'], env)
    expect(reversed.code).toBe(1)
    expect(reversed.err.trim()).toMatch(/--to must be after --from$/)
  })
})
