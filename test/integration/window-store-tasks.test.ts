import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClickHouse } from '../../services/shared/clickhouse/client.ts'
import { loadDriftgateConfig } from '../../services/shared/config/model-config.ts'
import type { LabelEvent, PredictionEvent } from '../../services/shared/events/types.ts'
import type { ConsumedRecord } from '../../services/shared/kafka/records.ts'
import type { ReferenceProfile } from '../../services/shared/records/reference-profile.ts'
import type { FeatureWindowStats } from '../../services/shared/records/window-metrics.ts'
import { labelRow } from '../../services/monitor/core/ingest/event-rows.ts'
import { predictionRow } from '../support/prediction-rows.ts'
import { buildRuntimeModel, type RuntimeModel } from '../../services/monitor/core/runtime-model.ts'
import { loadReferenceProfile } from '../../services/monitor/run/runtime-models.ts'
import { WindowStore, type ComputedWindows } from '../../services/monitor/store/window-store.ts'
import { featureToRecord, summaryToRecord } from '../../services/monitor/core/windows/window-rows.ts'
import {
  categoricalFeaturesSql,
  labelsPastHorizonSql,
  numericFeaturesSql,
  segmentOverflow,
  summarySql,
  windowInputsSql,
  type AttributeValueCounts,
  type WindowScope,
} from '../../services/monitor/store/window-sql.ts'
import {
  expectedTaskWindows,
  expectedPredictedClass,
  PSEUDO,
  type ExpectedTaskWindow,
  type StoredEvent,
  type TaskModelSpec,
} from '../support/expected-task-windows.ts'
import { recordAt } from '../support/events.ts'
import { freshClickHouse } from '../support/harness.ts'
import { normal, prng } from '../support/traffic.ts'
import { readFeatureStats, readWindowSummaries, type FeatureRow, type SummaryRow } from '../support/window-reads.ts'

// Regression and multiclass windows end to end through ClickHouse: raw prediction and label rows
// are inserted as the monitor stores them (two batches, the second with what arrived later and
// with replayed records), the windows are recomputed after each batch, and every stored number
// is compared with the same number computed by brute force from the events.

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
/** Monday 2026-11-02 00:00 UTC: four hourly windows of traffic from here. */
const T0 = Date.UTC(2026, 10, 2)
const HOURS = 4
const STARTS = Array.from({ length: HOURS }, (_, h) => T0 + h * HOUR)
/** Records with a Kafka timestamp after this are stored in the second batch. */
const CUT = T0 + 3.5 * HOUR
const LATENESS = 10 * MINUTE
const HORIZON = DAY
const PARTITIONS = 4

const REG_ID = 'house-price'
const MC_ID = 'risk-tier'
const CLASSES = ['low', 'mid', 'high']
const REG_COSTS = { true_positive: 0, false_positive: 0, per_unit_abs_error: 0.5 }
const MC_COSTS = { true_positive: 3, false_positive: -7, per_unit_abs_error: 0 }
const X_EDGES = [-1, 0, 0.5, 1.5]
const VALUE_EDGES = [10, 20, 30]
const AMOUNT_EDGES = [-0.5, 0, 0.5]
const SCORE_EDGES = [0.5, 0.7, 0.9]

interface Stored<E> extends StoredEvent<E> {
  batch: 1 | 2
}

/** One Kafka topic: offsets per partition in the order records are appended. */
class Topic<E> {
  readonly records: Stored<E>[] = []
  private readonly next = new Array<number>(PARTITIONS).fill(0)

  append(event: E, partition: number, timestamp: number): Stored<E> {
    const offset = this.next[partition]!
    this.next[partition] = offset + 1
    const record: Stored<E> = { event, partition, offset, timestamp, batch: timestamp > CUT ? 2 : 1 }
    this.records.push(record)
    return record
  }

  /** The same record (partition and offset) stored once more, as after a redelivery. */
  replay(record: Stored<E>): void {
    this.records.push({ ...record, batch: 2 })
  }
}

interface Topics {
  predictions: Topic<PredictionEvent>
  labels: Topic<LabelEvent>
}

const round2 = (x: number): number => Math.round(x * 100) / 100
const pick = <T>(rand: () => number, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!

function regressionPrediction(rand: () => number, id: string, t: number): PredictionEvent {
  const x = rand() < 0.06 ? pick(rand, X_EDGES) : normal(rand)
  const z = rand()
  const city = rand()
  const region = rand()
  const value = rand() < 0.04 ? 20 : 20 + 8 * x + normal(rand, 0, 2)
  return {
    prediction_id: id,
    model_id: REG_ID,
    model_version: rand() < 0.75 ? 'v1' : 'v2',
    event_time: t,
    // z: sometimes null, sometimes not sent at all; debug_ms and locale are not configured.
    numeric_features: { ...(z < 0.06 ? { x, z: null } : z < 0.1 ? { x } : { x, z: z * 50 }), debug_ms: rand() * 10 },
    categorical_features: { ...(city < 0.05 ? { city: null } : city < 0.08 ? {} : { city: city < 0.13 ? 'D' : pick(rand, ['A', 'B', 'C']) }), locale: 'en' },
    prediction: { predicted_class: null, scores: {}, value },
    segments: region < 0.05 ? { shard: '1' } : { region: region < 0.5 ? 'north' : 'south', shard: '2' },
  }
}

function regressionTruth(rand: () => number, p: PredictionEvent): Pick<LabelEvent, 'label_class' | 'label_value'> {
  return { label_class: null, label_value: rand() < 0.04 ? 0 : round2(p.prediction.value! + normal(rand, 0.5, 3)) }
}

function softmax(logits: Record<string, number>): Record<string, number> {
  const total = Object.values(logits).reduce((s, l) => s + Math.exp(l), 0)
  return Object.fromEntries(Object.entries(logits).map(([c, l]) => [c, Math.exp(l) / total]))
}

function multiclassPrediction(rand: () => number, id: string, t: number): PredictionEvent {
  const amount = rand() < 0.06 ? pick(rand, AMOUNT_EDGES) : normal(rand)
  const age = rand() < 0.06 ? null : 18 + Math.floor(rand() * 60)
  const device = rand()
  const probs = softmax({ low: -1.4 * amount, mid: 0.2 + normal(rand, 0, 0.3), high: 1.4 * amount })
  // Scores in varying key order.
  const order = rand() < 0.5 ? CLASSES : [...CLASSES].reverse()
  const scores = Object.fromEntries(order.map((c) => [c, probs[c]!]))
  const ranked = [...CLASSES].sort((a, b) => probs[b]! - probs[a]!)
  const how = rand()
  // Mostly the top class sent; sometimes another class (a thresholded decision); sometimes none
  // (derived from the scores when stored).
  const predicted = how < 0.85 ? ranked[0]! : how < 0.9 ? ranked[1]! : null
  const tier = rand()
  return {
    prediction_id: id,
    model_id: MC_ID,
    model_version: rand() < 0.7 ? 'v1' : 'v2',
    event_time: t,
    numeric_features: { latency_ms: rand() * 100, amount, age },
    categorical_features: device < 0.05 ? { device: null, locale: 'de' } : { locale: 'en', device: device < 0.1 ? 'web' : device < 0.55 ? 'ios' : 'android' },
    prediction: { predicted_class: predicted, scores, value: null },
    segments: tier < 0.03 ? { shard: '1' } : { tier: tier < 0.07 ? 'bronze' : tier < 0.55 ? 'gold' : 'silver', shard: '2' },
  }
}

function multiclassTruth(rand: () => number, p: PredictionEvent): Pick<LabelEvent, 'label_class' | 'label_value'> {
  const u = rand()
  let acc = 0
  for (const c of CLASSES) {
    acc += p.prediction.scores[c] ?? 0
    if (u < acc) return { label_class: c, label_value: null }
  }
  return { label_class: pick(rand, CLASSES), label_value: null }
}

interface Generated {
  prediction: Stored<PredictionEvent>
  labels: Stored<LabelEvent>[]
}

/** A label for prediction `p` at `delay` after its event time, read at `at` (default: soon after). */
function addLabel(
  topics: Topics,
  rand: () => number,
  p: PredictionEvent,
  truth: Pick<LabelEvent, 'label_class' | 'label_value'>,
  delay: number,
  at?: number,
): Stored<LabelEvent> {
  const label: LabelEvent = { prediction_id: p.prediction_id, model_id: p.model_id, label_time: p.event_time + delay, ...truth }
  return topics.labels.append(label, Math.floor(rand() * PARTITIONS), at ?? label.label_time + Math.floor(rand() * MINUTE))
}

/**
 * Hourly traffic of one model: predictions read up to five minutes after their event time (a few
 * hours late), some sent twice, three in four labeled after up to 20 hours (a few beyond the
 * horizon), a few labels corrected later. Prediction ids are per model and repeat across models.
 */
function traffic(
  topics: Topics,
  rand: () => number,
  make: (rand: () => number, id: string, t: number) => PredictionEvent,
  truth: (rand: () => number, p: PredictionEvent) => Pick<LabelEvent, 'label_class' | 'label_value'>,
): Generated[] {
  const out: Generated[] = []
  for (let h = 0; h < HOURS; h++) {
    const count = 90 + Math.floor(rand() * 20)
    for (let i = 0; i < count; i++) {
      const t = T0 + h * HOUR + Math.floor(rand() * HOUR)
      const event = make(rand, `p-${h}-${i}`, t)
      const at = t + (rand() < 0.03 ? 2 * HOUR + Math.floor(rand() * HOUR) : Math.floor(rand() * 5 * MINUTE))
      const prediction = topics.predictions.append(event, Math.floor(rand() * PARTITIONS), at)
      if (rand() < 0.03) topics.predictions.append(event, Math.floor(rand() * PARTITIONS), at + 1 + Math.floor(rand() * 30 * MINUTE))
      const labels: Stored<LabelEvent>[] = []
      if (rand() < 0.75) {
        const beyond = rand() < 0.04
        const delay = beyond ? HORIZON + 1 + Math.floor(rand() * 6 * HOUR) : Math.floor(Math.exp(rand() * Math.log(20 * HOUR)))
        labels.push(addLabel(topics, rand, event, truth(rand, event), delay, Math.max(at + 1, t + delay) + Math.floor(rand() * MINUTE)))
        if (!beyond && rand() < 0.05) labels.push(addLabel(topics, rand, event, truth(rand, event), delay + 1 + Math.floor(rand() * 2 * HOUR)))
      }
      out.push({ prediction, labels })
    }
  }
  return out
}

/**
 * The cases the random traffic may miss, on chosen predictions of window 1 (and 0): copies of a
 * prediction with other content that arrive first by Kafka time, by partition on a timestamp
 * tie, or lose by offset; a copy read after the window closed; a prediction whose first arrival
 * is late; labels corrected in and out of arrival order, on a label-time tie and after the
 * horizon; labels at and just beyond the horizon, after the prediction and before it.
 */
function edgeCases(
  topics: Topics,
  rand: () => number,
  generated: Generated[],
  alter: (p: PredictionEvent, k: number) => PredictionEvent,
  truths: [Pick<LabelEvent, 'label_class' | 'label_value'>, Pick<LabelEvent, 'label_class' | 'label_value'>],
): void {
  const inWindow = (h: number): Generated[] =>
    generated.filter(
      (g) =>
        g.prediction.event.event_time >= STARTS[h]! &&
        g.prediction.event.event_time < STARTS[h]! + HOUR &&
        g.prediction.timestamp < STARTS[h]! + HOUR + 5 * MINUTE &&
        g.labels.length === 0,
    )
  const [a, c, d, e, f, g, k, h] = inWindow(1)
  const [b] = inWindow(1)
    .slice(8)
    .filter((x) => x.prediction.partition > 0)
  const [s, x, m, n] = inWindow(0)
  const p = (x: Generated | undefined): Stored<PredictionEvent> => x!.prediction
  // A copy on another partition, read a second earlier: its content is what counts.
  topics.predictions.append(alter(p(a).event, 1), (p(a).partition + 1) % PARTITIONS, p(a).timestamp - 1000)
  // A copy with the same timestamp on a lower partition wins the tie.
  topics.predictions.append(alter(p(b).event, 2), 0, p(b).timestamp)
  // Copies on the same partition with the same timestamp: the lower offset wins; a third copy.
  topics.predictions.append(alter(p(c).event, 3), p(c).partition, p(c).timestamp)
  topics.predictions.append(alter(p(c).event, 4), p(c).partition, p(c).timestamp + 5 * MINUTE)
  // A copy read long after the window closed does not make its prediction late.
  topics.predictions.append(p(s).event, 2, T0 + 3.4 * HOUR)
  // A prediction first read after its window closed is late (and a later copy a duplicate).
  const late = topics.predictions.append({ ...alter(p(d).event, 5), prediction_id: `${p(d).event.prediction_id}-late` }, 1, T0 + 3 * HOUR)
  topics.predictions.append(late.event, 2, T0 + 3.2 * HOUR)
  // Window 1 closes when a prediction stamped at its end plus the lateness is read, at once: a
  // prediction of the window read at that very moment is not late, one read a millisecond later is.
  const closesAt = STARTS[2]! + LATENESS
  topics.predictions.append({ ...p(k).event, prediction_id: `${p(k).event.prediction_id}-closer`, event_time: closesAt }, 3, closesAt)
  topics.predictions.append({ ...p(g).event, prediction_id: `${p(g).event.prediction_id}-at-close` }, 2, closesAt)
  topics.predictions.append({ ...p(f).event, prediction_id: `${p(f).event.prediction_id}-after-close` }, 1, closesAt + 1)
  // Corrected label, the correction read after the original.
  addLabel(topics, rand, p(e).event, truths[0], 2 * HOUR, p(e).event.event_time + 2 * HOUR + 1000)
  addLabel(topics, rand, p(e).event, truths[1], 3 * HOUR, p(e).event.event_time + 3 * HOUR + 1000)
  // Corrected label read before the original (the later label time wins, not the later read).
  addLabel(topics, rand, p(f).event, truths[0], 1 * HOUR, p(f).event.event_time + 1 * HOUR + 40 * MINUTE)
  addLabel(topics, rand, p(f).event, truths[1], 1 * HOUR + 5 * MINUTE, p(f).event.event_time + 1 * HOUR + 6 * MINUTE)
  // Two labels with the same label time: the one read later wins.
  addLabel(topics, rand, p(g).event, truths[1], 30 * MINUTE, p(g).event.event_time + 31 * MINUTE)
  addLabel(topics, rand, p(g).event, truths[0], 30 * MINUTE, p(g).event.event_time + 45 * MINUTE)
  // A correction after the horizon is not counted: the label within it stays the truth.
  addLabel(topics, rand, p(h).event, truths[0], 2 * HOUR)
  addLabel(topics, rand, p(h).event, truths[1], HORIZON + HOUR)
  // A copy sent later with an event time two hours on, in window 2 (computed together with
  // window 0): each window counts the copy it holds. Its label is past the horizon of the
  // original and within that of the copy, so only window 2 counts it as labeled.
  const moved = topics.predictions.append({ ...alter(p(x).event, 6), event_time: STARTS[2]! + 20 * MINUTE }, 3, STARTS[2]! + 21 * MINUTE)
  addLabel(topics, rand, p(x).event, truths[1], HORIZON + HOUR, moved.event.event_time + HORIZON - MINUTE)
  // Exactly at the horizon counts; a millisecond beyond does not, after the prediction or before.
  addLabel(topics, rand, p(k).event, truths[0], HORIZON)
  addLabel(topics, rand, p(s).event, truths[0], HORIZON + 1)
  addLabel(topics, rand, p(m).event, truths[1], -HORIZON)
  addLabel(topics, rand, p(n).event, truths[1], -HORIZON - 1)
}

/** About one record in twenty is stored a second time (same partition and offset). */
function replaySome<E>(topic: Topic<E>, rand: () => number): void {
  for (const r of [...topic.records]) if (rand() < 0.05) topic.replay(r)
}

function writeConfig(): { path: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'driftgate-tasks-'))
  const numericRef = (edges: number[]) => ({
    bin_edges: edges,
    histogram: new Array<number>(edges.length + 1).fill(10),
    count: 10 * (edges.length + 1),
    null_rate: 0,
    min: -3,
    max: 3,
    mean: 0,
    std: 1,
  })
  const categoricalRef = (categories: string[]) => ({ categories, counts: categories.map(() => 10), count: 10 * categories.length, null_rate: 0 })
  const regression: ReferenceProfile = {
    model_id: REG_ID,
    source: 'test',
    created_at: 0,
    numeric: { x: numericRef(X_EDGES) },
    categorical: { city: categoricalRef(['A', 'B', 'C']) },
    prediction: { [PSEUDO.predictedValue]: numericRef(VALUE_EDGES) },
    performance: { mae: 2, rmse: 3, labeled_count: 100 },
  }
  const multiclass: ReferenceProfile = {
    model_id: MC_ID,
    source: 'test',
    created_at: 0,
    numeric: { amount: numericRef(AMOUNT_EDGES) },
    categorical: { device: categoricalRef(['android', 'ios']) },
    // 'high' was never predicted in the reference: it counts as unseen.
    prediction: { [PSEUDO.score]: numericRef(SCORE_EDGES), [PSEUDO.predictedClass]: categoricalRef(['low', 'mid']) },
    performance: { accuracy: 0.6, labeled_count: 100 },
  }
  writeFileSync(join(dir, 'regression.json'), JSON.stringify(regression))
  writeFileSync(join(dir, 'multiclass.json'), JSON.stringify(multiclass))
  const path = join(dir, 'driftgate.yaml')
  writeFileSync(
    path,
    `models:
  - model_id: ${REG_ID}
    task: regression
    features:
      numeric: [x, z]
      categorical: [city]
    reference_profile: regression.json
    windows: [1h]
    segments: [region]
    allowed_lateness: 10m
    label_horizon: 1d
    cost_matrix: { per_unit_abs_error: ${REG_COSTS.per_unit_abs_error} }
  - model_id: ${MC_ID}
    task: multiclass_classification
    classes: [${CLASSES.join(', ')}]
    features:
      numeric: [amount, age]
      categorical: [device]
    reference_profile: multiclass.json
    windows: [1h]
    segments: [tier, shard]
    allowed_lateness: 10m
    label_horizon: 1d
    cost_matrix: { true_positive: ${MC_COSTS.true_positive}, false_positive: ${MC_COSTS.false_positive} }
`,
  )
  return { path, dir }
}

const record = (topic: string, r: StoredEvent<unknown>): ConsumedRecord => ({
  topic,
  partition: r.partition,
  offset: String(r.offset),
  key: null,
  value: null,
  timestamp: r.timestamp,
  headers: {},
})
/** When a batch's rows were written: the second batch strictly after the first. */
const ingestedAt = (r: Stored<unknown>): number => (r.batch === 1 ? r.timestamp + 500 : Math.max(r.timestamp, CUT) + DAY)

async function insertBatch(ch: ClickHouse, models: Map<string, RuntimeModel>, topics: Topics, batch: 1 | 2): Promise<void> {
  const predictions = topics.predictions.records.filter((r) => r.batch === batch)
  const labels = topics.labels.records.filter((r) => r.batch === batch)
  await ch.insert(
    'predictions',
    predictions.map((r) => predictionRow(r.event, models.get(r.event.model_id)!, record('predictions', r), ingestedAt(r))),
  )
  await ch.insert(
    'labels',
    labels.map((r) => labelRow(r.event, record('labels', r), ingestedAt(r))),
  )
}

function specOf(model: RuntimeModel): TaskModelSpec {
  const c = model.config
  return {
    modelId: c.model_id,
    task: c.task as TaskModelSpec['task'],
    classes: c.classes ?? [],
    numeric: c.features.numeric,
    categorical: c.features.categorical,
    segments: c.segments,
    binEdges: c.task === 'regression' ? { x: X_EDGES, [PSEUDO.predictedValue]: VALUE_EDGES } : { amount: AMOUNT_EDGES, [PSEUDO.score]: SCORE_EDGES },
    known: c.task === 'regression' ? { city: ['A', 'B', 'C'] } : { device: ['android', 'ios'], [PSEUDO.predictedClass]: ['low', 'mid'] },
    latenessMs: LATENESS,
    horizonMs: HORIZON,
    costs: c.task === 'regression' ? REG_COSTS : MC_COSTS,
  }
}

function expectNumber(got: number | null | undefined, want: number | null, what: string): void {
  if (want === null) expect(got ?? null, what).toBeNull()
  else {
    expect(got, what).not.toBeNull()
    expect(got!, what).toBeCloseTo(want, 9)
  }
}

function checkSummary(got: SummaryRow, want: ExpectedTaskWindow, key: string): void {
  expect(
    {
      volume: got.volume,
      duplicates: got.duplicate_count,
      late: got.late_count,
      labeled: got.labeled_count,
      closed: got.closed,
      classes: got.classes,
      confusion: got.confusion,
    },
    key,
  ).toEqual({
    volume: want.volume,
    duplicates: want.duplicate_count,
    late: want.late_count,
    labeled: want.labeled_count,
    closed: want.closed ? 1 : 0,
    classes: want.classes,
    confusion: want.confusion,
  })
  expectNumber(got.label_coverage, want.label_coverage, `${key} label_coverage`)
  expectNumber(got.label_delay_p50_ms, want.delay_p50, `${key} delay p50`)
  expectNumber(got.label_delay_p90_ms, want.delay_p90, `${key} delay p90`)
  expectNumber(got.label_delay_p99_ms, want.delay_p99, `${key} delay p99`)
  for (const metric of ['accuracy', 'precision', 'recall', 'f1', 'log_loss', 'mae', 'rmse', 'mape', 'bias', 'error_fourth_moment'] as const)
    expectNumber(got[metric], want[metric], `${key} ${metric}`)
  expectNumber(got.business_value, want.business_value, `${key} business_value`)
  // Binary-only numbers stay empty.
  expect({ roc_auc: got.roc_auc, calibration_error: got.calibration_error, estimated_accuracy: got.estimated_accuracy }, key).toEqual({
    roc_auc: null,
    calibration_error: null,
    estimated_accuracy: null,
  })
}

function checkFeatures(features: Map<string, FeatureRow>, want: ExpectedTaskWindow, key: string): void {
  for (const [feature, n] of Object.entries(want.numeric)) {
    const got = features.get(`${key}|${feature}`)
    expect(got, `${key} ${feature}`).toBeDefined()
    expect({ kind: got!.kind, count: got!.count, nulls: got!.nulls, bin_edges: got!.bin_edges, histogram: got!.histogram }, `${key} ${feature}`).toEqual({
      kind: 'numeric',
      count: n.count,
      nulls: n.nulls,
      bin_edges: n.bin_edges,
      histogram: n.histogram,
    })
    for (const stat of ['min', 'max', 'mean', 'std'] as const) expectNumber(got![stat], n[stat], `${key} ${feature} ${stat}`)
  }
  for (const [feature, c] of Object.entries(want.categorical)) {
    const got = features.get(`${key}|${feature}`)
    expect(got, `${key} ${feature}`).toBeDefined()
    const counts = Object.fromEntries(got!.categories.map((v, i) => [v, got!.category_counts[i]]))
    expect(
      { kind: got!.kind, count: got!.count, nulls: got!.nulls, counts, unseen: got!.unseen, sorted: [...got!.categories].sort() },
      `${key} ${feature}`,
    ).toEqual({
      kind: 'categorical',
      count: c.count,
      nulls: c.nulls,
      counts: c.counts,
      unseen: c.unseen,
      sorted: got!.categories,
    })
  }
}

let ch: ClickHouse
let drop: (() => Promise<void>) | undefined
let topics: Topics

/** `ch` that runs `insert` once, after a computation read its windows' inputs and before the
 *  next query: rows arriving while the aggregates read. */
function interleaved(ch: ClickHouse, insert: () => Promise<void>): { ch: ClickHouse; inserted: () => boolean } {
  let insertion: Promise<void> | null = null
  let inputsRead = false
  const proxy = new Proxy(ch, {
    get(target, prop, receiver) {
      if (prop !== 'query') return Reflect.get(target, prop, receiver) as unknown
      return async (sql: string, settings?: Record<string, number>): Promise<unknown[]> => {
        if (inputsRead) await (insertion ??= insert())
        const out = await target.query(sql, settings)
        if (sql.includes('AS replayed')) inputsRead = true
        return out
      }
    },
  })
  return { ch: proxy, inserted: () => insertion !== null }
}

const models = new Map<string, RuntimeModel>()
const closed = new Map<string, number[]>()

beforeAll(async () => {
  ;({ ch, drop } = await freshClickHouse())
  const { path, dir } = writeConfig()
  const config = loadDriftgateConfig(path)
  for (const model of config.models) models.set(model.model_id, buildRuntimeModel(model, loadReferenceProfile(resolve(dir, model.reference_profile!))))

  topics = { predictions: new Topic(), labels: new Topic() }
  const rand = prng(20261102)
  const regression = traffic(topics, rand, regressionPrediction, regressionTruth)
  const multiclass = traffic(topics, rand, multiclassPrediction, multiclassTruth)
  // Copies with other content: other feature values and prediction, and for one another version.
  const version = (p: PredictionEvent, k: number): string => (k === 2 ? (p.model_version === 'v1' ? 'v2' : 'v1') : p.model_version)
  edgeCases(
    topics,
    rand,
    regression,
    (p, k) => ({ ...p, model_version: version(p, k), numeric_features: { ...p.numeric_features, x: 2 + k }, prediction: { ...p.prediction, value: 40 + k } }),
    [
      { label_class: null, label_value: 12.5 },
      { label_class: null, label_value: 31.25 },
    ],
  )
  edgeCases(
    topics,
    rand,
    multiclass,
    (p, k) => ({
      ...p,
      model_version: version(p, k),
      numeric_features: { ...p.numeric_features, amount: 2 + k },
      prediction: { ...p.prediction, predicted_class: CLASSES[k % 3]! },
    }),
    [
      { label_class: 'low', label_value: null },
      { label_class: 'high', label_value: null },
    ],
  )

  // Multiclass scores the metrics must handle: a true class scored 0 (log loss clipped), a class
  // without a score (no log loss), no scores at all (no __score; no class unless one is sent).
  const special: [Record<string, number>, string | null, string][] = [
    [{ low: 1, mid: 0, high: 0 }, 'low', 'mid'],
    [{ low: 0.7, mid: 0.3 }, null, 'low'],
    [{}, 'mid', 'mid'],
    [{}, null, 'high'],
  ]
  special.forEach(([scores, predicted, truth], i) => {
    const t = STARTS[2]! + 7 * MINUTE + i * MINUTE
    const event: PredictionEvent = { ...multiclassPrediction(rand, `s-${i}`, t), prediction: { predicted_class: predicted, scores, value: null } }
    topics.predictions.append(event, i % PARTITIONS, t + 1000)
    addLabel(topics, rand, event, { label_class: truth, label_value: null }, 20 * MINUTE)
  })
  replaySome(topics.predictions, rand)
  replaySome(topics.labels, rand)

  // Labels read through their primary key, and without it (as for many ids), in turn.
  const stores = [new WindowStore(ch), new WindowStore(ch, { labelIndexMaxIds: 0 })]
  for (const batch of [1, 2] as const) {
    await insertBatch(ch, models, topics, batch)
    const [one, other] = batch === 1 ? stores : [...stores].reverse()
    // Windows in two calls each, one of them not contiguous.
    for (const model of models.values()) {
      const size = model.config.windows[0]!
      const first = await one!.recompute(model, size, [STARTS[0]!, STARTS[2]!])
      const second = await other!.recompute(model, size, [STARTS[1]!, STARTS[3]!])
      closed.set(
        model.config.model_id,
        [...first.closedStarts, ...second.closedStarts].sort((a, b) => a - b),
      )
    }
  }
})

afterAll(async () => {
  await drop?.()
})

async function checkModel(modelId: string): Promise<Map<string, ExpectedTaskWindow>> {
  const model = models.get(modelId)!
  expect(model.config.windows).toEqual([HOUR])
  const expected = expectedTaskWindows(specOf(model), topics.predictions.records, topics.labels.records, HOUR, STARTS)
  const summaries = await readWindowSummaries(ch, modelId)
  const features = await readFeatureStats(ch, modelId)
  expect([...summaries.keys()].sort()).toEqual([...expected.keys()].sort())
  const perGroup = Object.keys([...expected.values()][0]!.numeric).length + Object.keys([...expected.values()][0]!.categorical).length
  expect(features.size).toBe(expected.size * perGroup)
  for (const [key, want] of expected) {
    checkSummary(summaries.get(key)!, want, key)
    checkFeatures(features, want, key)
  }
  expect(closed.get(modelId)).toEqual(STARTS.filter((s) => expected.get(`v1|all|${HOUR}|${s}`)!.closed))
  // The traffic exercised what the test claims.
  const all = [...expected.values()]
  expect(all.some((w) => w.closed) && all.some((w) => !w.closed)).toBe(true)
  expect(all.some((w) => w.closed && w.late_count > 0)).toBe(true)
  expect(all.some((w) => w.duplicate_count > 0)).toBe(true)
  expect(all.some((w) => w.labeled_count > 0 && w.labeled_count < w.volume)).toBe(true)
  expect(all.some((w) => Object.values(w.numeric).some((n) => n.nulls > 0))).toBe(true)
  expect(all.some((w) => Object.values(w.categorical).some((c) => c.unseen > 0 && c.nulls > 0))).toBe(true)
  expect(topics.predictions.records.length).toBeGreaterThan(new Set(topics.predictions.records.map((r) => `${r.partition}:${r.offset}`)).size)
  expect(topics.labels.records.length).toBeGreaterThan(new Set(topics.labels.records.map((r) => `${r.partition}:${r.offset}`)).size)
  return expected
}

describe('window store: regression and multiclass windows aggregated in ClickHouse', () => {
  it('regression: volume, duplicates, late, labels, delays, MAE/RMSE/MAPE/bias, business value and features as computed from the raw rows', async () => {
    const expected = await checkModel(REG_ID)
    const all = [...expected.values()]
    // Zero truths are left out of MAPE only.
    const zeroTruth = topics.labels.records.some((r) => r.event.model_id === REG_ID && r.event.label_value === 0)
    expect(zeroTruth).toBe(true)
    expect(all.every((w) => !(PSEUDO.score in w.numeric) && !(PSEUDO.predictedClass in w.categorical) && PSEUDO.predictedValue in w.numeric)).toBe(true)
    expect(all.some((w) => w.numeric[PSEUDO.predictedValue]!.histogram[2]! > 0)).toBe(true)
  })

  it('multiclass: volume, duplicates, late, labels, delays, confusion, accuracy, macro precision/recall/F1, log loss, business value and features as computed from the raw rows', async () => {
    const expected = await checkModel(MC_ID)
    const all = [...expected.values()]
    expect(all.every((w) => PSEUDO.score in w.numeric && PSEUDO.predictedClass in w.categorical && !(PSEUDO.predictedValue in w.numeric))).toBe(true)
    // Some groups lack a class altogether (macro averages over the classes present), and some
    // predictions were sent with a class other than their top score or with none.
    expect(
      all.some((w) => w.confusion.length && CLASSES.some((_, i) => w.confusion[i]!.every((n) => n === 0) && w.confusion.every((row) => row[i] === 0))),
    ).toBe(true)
    expect(
      topics.predictions.records.some(
        (r) => r.event.model_id === MC_ID && r.event.prediction.predicted_class === null && expectedPredictedClass(r.event) !== null,
      ),
    ).toBe(true)
    expect(all.some((w) => w.numeric[PSEUDO.score]!.nulls > 0)).toBe(true)
  })

  it('labels read per prediction id (no label past the horizon) give the numbers of the per-window join', async () => {
    for (const model of models.values()) {
      const scope = (horizon: number): WindowScope => ({
        predictions: ch.table('predictions'),
        labels: ch.table('labels'),
        model: { ...model.config, label_horizon: horizon },
        sizeMs: HOUR,
        spans: [[STARTS[0]!, STARTS[HOURS - 1]! + HOUR]],
      })
      const past = async (horizon: number): Promise<number> => Number((await ch.query<{ past: number }>(labelsPastHorizonSql(scope(horizon))))[0]!.past)
      // The traffic has labels past the one-day horizon (the join is used), none past a year.
      expect(await past(HORIZON)).toBeGreaterThan(0)
      expect(await past(365 * DAY)).toBe(0)
      // With a year's horizon both ways are valid: they must agree on every number.
      const closes = new Map(STARTS.map((s) => [s, s + 2 * HOUR]))
      const rows = async (labelsWithinHorizon: boolean, labelsByKey: boolean): Promise<unknown[]> => {
        const out = await ch.query<Record<string, unknown>>(
          summarySql(scope(365 * DAY), closes, { final: true, duplicates: true, labelsWithinHorizon, labelsByKey, segmentOverflow: true }),
        )
        return out.map((r) => JSON.stringify(r)).sort()
      }
      const joined = await rows(false, false)
      expect(joined.length).toBeGreaterThan(HOURS)
      // Found through the key or by their ids' hashes.
      expect(await rows(true, true)).toEqual(joined)
      expect(await rows(true, false)).toEqual(joined)
    }
  })

  it('keeps segment values unranked when no window has more than are kept, with the numbers of the ranking', async () => {
    for (const model of models.values()) {
      const scope: WindowScope = {
        predictions: ch.table('predictions'),
        labels: ch.table('labels'),
        model: model.config,
        sizeMs: HOUR,
        spans: [[STARTS[0]!, STARTS[HOURS - 1]! + HOUR]],
      }
      const inputs = await ch.query<AttributeValueCounts>(windowInputsSql(scope))
      expect(inputs.length).toBe(HOURS)
      expect(segmentOverflow(model.config, inputs)).toBe(false)
      // Values kept as they are: one fewer than the most a window has makes them overflow.
      const most = Math.max(...inputs.flatMap((r) => model.config.segments.map((_, i) => Number(r[`attribute_values_${i}`]))))
      expect(most).toBeGreaterThan(1)
      expect(segmentOverflow({ ...model.config, max_segment_values: most - 1 }, inputs)).toBe(true)
      const closes = new Map(STARTS.map((s) => [s, s + 2 * HOUR]))
      const queries = (segmentOverflow: boolean): string[] => {
        const read = { final: true, duplicates: true, labelsWithinHorizon: false, labelsByKey: false, segmentOverflow }
        return [summarySql(scope, closes, read), numericFeaturesSql(scope, model.binEdges, read), categoricalFeaturesSql(scope, read)]
      }
      const rows = async (sql: string): Promise<string[]> => (await ch.query<Record<string, unknown>>(sql)).map((r) => JSON.stringify(r)).sort()
      const [ranked, unranked] = [queries(true), queries(false)]
      for (let q = 0; q < ranked.length; q++) {
        expect(unranked[q]).not.toEqual(ranked[q])
        const expected = await rows(ranked[q]!)
        expect(expected.length).toBeGreaterThan(HOURS)
        expect(await rows(unranked[q]!)).toEqual(expected)
      }
    }
  })

  it('gives a window a higher version whenever its numbers read more records, and the same one when nothing they read changed', async () => {
    const own = await freshClickHouse()
    try {
      const model = models.get(MC_ID)!
      const size = model.config.windows[0]!
      const start = STARTS[0]! - 48 * HOUR
      const store = new WindowStore(own.ch)
      const prediction = multiclassPrediction(prng(5), 'version-1', start + MINUTE)
      const label = (labelClass: string, labelTime: number): LabelEvent => ({
        prediction_id: 'version-1',
        model_id: MC_ID,
        label_time: labelTime,
        label_class: labelClass,
        label_value: null,
      })
      let last: ComputedWindows | null = null
      const compute = async (on = store): Promise<{ version: bigint; labeled: number }> => {
        const computed = await on.recompute(model, size, [start])
        last = computed
        const labeled = computed.summaries.filter((s) => s.key.segment === 'all').reduce((n, s) => n + s.labeled_count, 0)
        return { version: BigInt(computed.versions.get(start)!), labeled }
      }
      // Feature statistics are recomputed only when the window's predictions changed; otherwise
      // the stored ones are handed on, the same as computed.
      const features = (): { reused: number[]; features: FeatureWindowStats[] } => ({ reused: last!.featuresReused, features: last!.features })

      await own.ch.insert('predictions', [predictionRow(prediction, model, recordAt(1, start + 2 * MINUTE), 5_000)])
      const v1 = await compute()
      expect(v1.labeled).toBe(0)
      const computedFirst = features()
      expect(computedFirst.reused).toEqual([])
      expect(computedFirst.features.length).toBeGreaterThan(0)
      // A label stored with an older ingested_at than the prediction: one more record read.
      await own.ch.insert('labels', [labelRow(label('low', start + 30 * MINUTE), recordAt(1, start + 31 * MINUTE), 4_000)])
      const v2 = await compute()
      expect(v2.labeled).toBe(1)
      expect(v2.version).toBeGreaterThan(v1.version)
      expect(features()).toEqual({ reused: [start], features: computedFirst.features })
      // Another store (a restart, or another instance) finds them stored for these predictions.
      await compute(new WindowStore(own.ch))
      expect(features()).toEqual({ reused: [start], features: computedFirst.features })
      // Under other settings (a category limit) they are computed again: the same numbers here.
      const otherSettings = { ...model, config: { ...model.config, max_category_values: model.config.max_category_values + 1 } }
      const recomputed = await new WindowStore(own.ch).recompute(otherSettings, size, [start])
      expect(recomputed.featuresReused).toEqual([])
      expect(recomputed.features).toEqual(computedFirst.features)
      // A correction ingested later.
      await own.ch.insert('labels', [labelRow(label('mid', start + 40 * MINUTE), recordAt(2, start + 41 * MINUTE), 6_000)])
      const v3 = await compute()
      expect(v3.version).toBeGreaterThan(v2.version)
      // A label after the horizon changes no number, and so not the version either.
      await own.ch.insert('labels', [labelRow(label('high', prediction.event_time + HORIZON + MINUTE), recordAt(3, start + HORIZON), 7_000)])
      const v4 = await compute()
      expect(v4).toEqual(v3)
      // The same prediction at another offset (a duplicate): read, so a higher version.
      await own.ch.insert('predictions', [predictionRow(prediction, model, recordAt(9, start + 3 * MINUTE), 4_500)])
      expect((await compute()).version).toBeGreaterThan(v4.version)
      expect(features().reused).toEqual([])
      // A second prediction in the window: statistics over both.
      await own.ch.insert('predictions', [
        predictionRow(multiclassPrediction(prng(6), 'version-2', start + 2 * MINUTE), model, recordAt(10, start + 4 * MINUTE), 8_000),
      ])
      await compute()
      expect(features().reused).toEqual([])
      const first = features().features.find((f) => f.numeric)!.feature
      const rollups = features().features.filter((f) => f.key.segment === 'all' && f.feature === first)
      expect(rollups.reduce((n, f) => n + f.numeric!.count + f.numeric!.nulls, 0)).toBe(2)
    } finally {
      await own.drop()
    }
  })

  it("reads again when rows arrive between a window's inputs and its numbers, so a redelivery then is collapsed, not counted", async () => {
    const own = await freshClickHouse()
    try {
      const model = models.get(MC_ID)!
      const size = model.config.windows[0]!
      const start = STARTS[0]! - 72 * HOUR
      const rand = prng(41)
      const predictions = Array.from({ length: 30 }, (_, i) => multiclassPrediction(rand, `moved-${i}`, start + i * MINUTE))
      const rows = (ingested: number, count = predictions.length): object[] =>
        predictions.slice(0, count).map((p, i) => predictionRow(p, model, recordAt(i, p.event_time + 1000), ingested))
      await own.ch.insert('predictions', rows(5_000))
      // Another instance re-inserts a third of them (a redelivery after a rebalance), stamped
      // before the newest row (its batch was read earlier): it lands after this computation
      // read the window's inputs and before its numbers, once.
      const redelivery = interleaved(own.ch, () => own.ch.insert('predictions', rows(4_000, 10)))
      const store = new WindowStore(redelivery.ch)
      const perFeature = (features: FeatureWindowStats[]): Map<string, number> =>
        new Map(
          features
            .filter((f) => f.key.segment === 'all')
            .map((f) => [`${f.key.model_version}|${f.feature}`, f.numeric ? f.numeric.count + f.numeric.nulls : f.categorical!.count + f.categorical!.nulls]),
        )
      const versions = new Map<string, number>()
      for (const p of predictions) versions.set(p.model_version, (versions.get(p.model_version) ?? 0) + 1)
      const expectEveryPredictionOnce = (features: FeatureWindowStats[]): void => {
        const counts = perFeature(features)
        expect(counts.size).toBeGreaterThan(4)
        for (const [key, n] of counts) expect([key, n]).toEqual([key, versions.get(key.split('|')[0]!)])
      }
      const computed = await store.recompute(model, size, [start])
      expect(redelivery.inserted()).toBe(true)
      expect(computed.rereads).toBe(1)
      expect(computed.featuresReused).toEqual([])
      expect(computed.summaries.filter((s) => s.key.segment === 'all').reduce((n, s) => n + s.volume, 0)).toBe(predictions.length)
      expectEveryPredictionOnce(computed.features)
      // Nothing changed since: the stored statistics are handed on, and they are right.
      const again = await store.recompute(model, size, [start])
      expect(again.featuresReused).toEqual([start])
      expect(again.rereads).toBe(0)
      expectEveryPredictionOnce(again.features)

      // A label past the horizon arriving in between: the read of labels by prediction id,
      // planned for none, would count it as a correction.
      const labelOf = (p: PredictionEvent, labelClass: string, after: number): LabelEvent => ({
        prediction_id: p.prediction_id,
        model_id: MC_ID,
        label_time: p.event_time + after,
        label_class: labelClass,
        label_value: null,
      })
      await own.ch.insert(
        'labels',
        predictions.map((p, i) => labelRow(labelOf(p, 'low', HOUR), recordAt(i, p.event_time + HOUR), 6_000)),
      )
      const late = interleaved(own.ch, () =>
        own.ch.insert(
          'labels',
          predictions.map((p, i) => labelRow(labelOf(p, 'high', HORIZON + HOUR), recordAt(100 + i, p.event_time + HORIZON + HOUR), 7_000)),
        ),
      )
      const withLate = await new WindowStore(late.ch).recompute(model, size, [start])
      expect(late.inserted()).toBe(true)
      const fresh = await new WindowStore(own.ch).recompute(model, size, [start])
      expect(withLate.summaries).toEqual(fresh.summaries)
      expect(withLate.versions).toEqual(fresh.versions)
      const all = withLate.summaries.filter((s) => s.key.segment === 'all')
      expect(all.reduce((n, s) => n + s.labeled_count, 0)).toBe(predictions.length)
      const truthLow = predictions.filter((p) => expectedPredictedClass(p) === 'low').length
      expect(all.reduce((n, s) => n + s.labeled_count * s.classification!.accuracy, 0)).toBeCloseTo(truthLow, 9)
    } finally {
      await own.drop()
    }
  })

  it('as of a data time, with later records stored: every number of the records stamped by then, and the windows closed by then', async () => {
    const keyOf = (r: { model_version: string; segment: string; window_size_ms: number; window_start: number }): string =>
      `${r.model_version}|${r.segment}|${r.window_size_ms}|${r.window_start}`
    const stampedByCut = <E>(r: Stored<E>): boolean => r.timestamp <= CUT
    let differs = 0
    for (const model of models.values()) {
      const computed = await new WindowStore(ch).recompute(model, HOUR, STARTS, { asOf: CUT })
      const expected = expectedTaskWindows(
        specOf(model),
        topics.predictions.records.filter(stampedByCut),
        topics.labels.records.filter(stampedByCut),
        HOUR,
        STARTS,
      )
      const summaries = new Map(computed.summaries.map((s) => [keyOf(s.key), summaryToRecord(s)]))
      const features = new Map(computed.features.map((f) => [`${keyOf(f.key)}|${f.feature}`, featureToRecord(f)]))
      expect([...summaries.keys()].sort()).toEqual([...expected.keys()].sort())
      for (const [key, want] of expected) {
        checkSummary(summaries.get(key)!, want, key)
        checkFeatures(features, want, key)
      }
      expect(computed.closedStarts).toEqual(STARTS.filter((s) => expected.get(`v1|all|${HOUR}|${s}`)!.closed))
      // The cut matters: the same windows with everything stored read other numbers.
      const full = expectedTaskWindows(specOf(model), topics.predictions.records, topics.labels.records, HOUR, STARTS)
      differs += [...expected].filter(([key, w]) => full.get(key)?.labeled_count !== w.labeled_count || full.get(key)?.volume !== w.volume).length
    }
    expect(differs).toBeGreaterThan(0)
  })

  it('defers a window held open by a lagging partition without reading its rows, and gives the others the numbers they get alone', async () => {
    for (const model of models.values()) {
      const held = closed.get(model.config.model_id)!.at(-1)!
      const others = STARTS.filter((s) => s !== held)
      // Every query the store sends, to see which event-time ranges it read.
      const sent: string[] = []
      const spy: ClickHouse = Object.create(ch)
      spy.query = (sql, settings) => (sent.push(sql), ch.query(sql, settings))
      const lowWatermark = held + HOUR + model.config.allowed_lateness - 1
      const computed = await new WindowStore(spy).recompute(model, HOUR, STARTS, { lowWatermark, deferrable: new Set([held]) })
      const alone = await new WindowStore(ch).recompute(model, HOUR, others)
      expect(computed.deferred).toEqual([held])
      expect([...computed.versions.keys()].sort((a, b) => a - b)).toEqual(others)
      expect(computed.summaries).toEqual(alone.summaries)
      expect(computed.closedStarts).toEqual(alone.closedStarts)
      // The inputs (windowInputsSql) were read for the other windows only.
      const inputRanges = sent
        .filter((sql) => sql.includes('AS replayed'))
        .flatMap((sql) => [...sql.matchAll(/event_time >= (\d+) AND event_time < (\d+)/g)].map((m) => [Number(m[1]), Number(m[2])] as const))
      expect(inputRanges.length).toBeGreaterThan(0)
      expect(inputRanges.filter(([from, to]) => from <= held && held < to)).toEqual([])
    }
  })

  it.each([
    [150, 'k'],
    [5_000, 'class-name-'],
  ])('computes the confusion matrix of a model with %i classes, cell for cell as counted from the rows', async (k, prefix) => {
    // The matrix once took a countIf per cell: 100 classes made the query longer than ClickHouse
    // parses, and every window of such a model failed. Past 100 classes only its non-zero cells
    // are stored. 5,000 class names make the query longer than ClickHouse's default
    // max_query_size, which the client then raises for it.
    const classes = Array.from({ length: k }, (_, i) => `${prefix}${i}`)
    const modelId = `wide-${k}-classes`
    const dir = mkdtempSync(join(tmpdir(), 'driftgate-wide-'))
    const reference: ReferenceProfile = { model_id: modelId, source: 'test', created_at: 0, numeric: {}, categorical: {}, prediction: {}, performance: {} }
    writeFileSync(join(dir, 'reference.json'), JSON.stringify(reference))
    writeFileSync(
      join(dir, 'driftgate.yaml'),
      `models:
  - model_id: ${modelId}
    task: multiclass_classification
    classes: [${classes.join(', ')}]
    features:
      numeric: [x]
      categorical: []
    reference_profile: reference.json
    windows: [1h]
    allowed_lateness: 10m
    label_horizon: 1d
`,
    )
    const config = loadDriftgateConfig(join(dir, 'driftgate.yaml')).models[0]!
    const model = buildRuntimeModel(config, loadReferenceProfile(join(dir, 'reference.json')))
    const rand = prng(150)
    const start = T0
    // Mostly right, else any class; a few truths outside the configured classes (not counted).
    const rows = Array.from({ length: 3_000 }, (_, i) => {
      const said = classes[Math.floor(rand() * classes.length)]!
      const truth = rand() < 0.02 ? 'unknown' : rand() < 0.6 ? said : classes[Math.floor(rand() * classes.length)]!
      const t = start + Math.floor(rand() * (HOUR - MINUTE))
      const event: PredictionEvent = {
        prediction_id: `w-${i}`,
        model_id: modelId,
        model_version: 'v1',
        event_time: t,
        numeric_features: { x: rand() },
        categorical_features: {},
        prediction: { predicted_class: said, scores: {}, value: null },
        segments: {},
      }
      return { event, truth, t }
    })
    await ch.insert(
      'predictions',
      rows.map((r, i) => predictionRow(r.event, model, recordAt(i, r.t + 1_000), r.t + 2_000)),
    )
    await ch.insert(
      'labels',
      rows.map((r, i) =>
        labelRow(
          { prediction_id: r.event.prediction_id, model_id: modelId, label_time: r.t + MINUTE, label_class: r.truth, label_value: null },
          recordAt(i, r.t + MINUTE),
          r.t + MINUTE,
        ),
      ),
    )
    await new WindowStore(ch).recompute(model, HOUR, [start])
    // Per truth class, per predicted class, the rows counted.
    const want = new Map<string, number>()
    for (const r of rows) {
      if (r.truth === 'unknown') continue
      const key = `${r.truth}>${r.event.prediction.predicted_class}`
      want.set(key, (want.get(key) ?? 0) + 1)
    }
    const got = [...(await readWindowSummaries(ch, modelId)).values()].find((w) => w.segment === 'all')!
    expect(got.classes).toEqual(classes)
    expect(got.confusion).toEqual([])
    const cells = new Map(got.confusion_cells.map((cell, i) => [`${classes[Math.floor(cell / k)]}>${classes[cell % k]}`, Number(got.confusion_counts[i])]))
    expect(cells).toEqual(want)
    expect(want.size).toBeGreaterThan(1_000)
    const counted = [...want.values()].reduce((a, b) => a + b, 0)
    expect(counted).toBeLessThan(rows.length)
    const correct = rows.filter((r) => r.truth === r.event.prediction.predicted_class).length
    expect(got.accuracy).toBeCloseTo(correct / counted, 12)
  })
})
