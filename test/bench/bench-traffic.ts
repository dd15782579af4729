import type { LabelEvent, PredictionEvent } from '../../services/shared/events/types.ts'
import { normal, prng } from '../support/traffic.ts'
import { CATEGORICAL, CHANNELS, NULL_RATE, NUMERIC, categories, numericParams } from './bench-model.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** A per-index random stream, so any prediction can be regenerated without keeping it in memory. */
const streamFor = (seed: number, i: number): (() => number) => prng(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35))

const CATEGORY_TABLES = CATEGORICAL.map((_, j) => {
  const { values, probabilities } = categories(j)
  let acc = 0
  return { values, cumulative: probabilities.map((p) => (acc += p)) }
})

function pick(table: { values: string[]; cumulative: number[] }, u: number): string {
  const i = table.cumulative.findIndex((c) => u < c)
  return table.values[i === -1 ? table.values.length - 1 : i]!
}

/**
 * One prediction of the bench model. `shift` moves the first six numeric features by that many
 * standard deviations (the trigger phase's drift). The score depends on three features, so the
 * labels drawn from it give a realistic accuracy (about 0.75).
 */
export function makePrediction(modelId: string, predictionId: string, eventTime: number, rand: () => number, shift = 0): PredictionEvent {
  const numeric: Record<string, number | null> = {}
  NUMERIC.forEach((name, j) => {
    const { mean, sd } = numericParams(j)
    const nullRate = NULL_RATE[name] ?? 0
    numeric[name] = nullRate > 0 && rand() < nullRate ? null : normal(rand, mean + (j < 6 ? shift * sd : 0), sd)
  })
  const categorical: Record<string, string | null> = {}
  CATEGORICAL.forEach((name, j) => {
    const nullRate = NULL_RATE[name] ?? 0
    categorical[name] = nullRate > 0 && rand() < nullRate ? null : pick(CATEGORY_TABLES[j]!, rand())
  })
  const z = 1.2 * (numeric.n00 ?? 0) - 0.8 * ((numeric.n01 ?? 1) - 1) + (categorical.c00 === 'c0_v0' ? 0.5 : -0.3)
  const score = 1 / (1 + Math.exp(-z))
  return {
    prediction_id: predictionId,
    model_id: modelId,
    model_version: rand() < 0.9 ? 'v1' : 'v2',
    event_time: eventTime,
    numeric_features: numeric,
    categorical_features: categorical,
    prediction: { predicted_class: score >= 0.5 ? '1' : '0', scores: { '0': 1 - score, '1': score }, value: null },
    segments: { channel: CHANNELS[Math.floor(rand() * CHANNELS.length)]! },
  }
}

/** The truth for a prediction, drawn from its score (a calibrated model). */
export function makeLabel(prediction: PredictionEvent, labelTime: number, u: number): LabelEvent {
  const score = prediction.prediction.scores['1'] ?? 0.5
  return {
    prediction_id: prediction.prediction_id,
    model_id: prediction.model_id,
    label_time: labelTime,
    label_class: u < score ? '1' : '0',
    label_value: null,
  }
}

export interface TrafficPlan {
  modelId: string
  seed: number
  count: number
  /** First window start of the traffic (event times span [start, start + spanMs)). */
  start: number
  spanMs: number
  /** Label index k (arrival order) -> prediction index. */
  labelOrder: Uint32Array
  labelArrival: Float64Array
}

/**
 * N predictions with event times spread evenly over four days, sent up to ten minutes after the
 * event (so the topic is in rough event-time order, as live traffic is), and one label each,
 * known 1 minute to 2 days after the prediction (log-uniform) and sent when known. Everything
 * ends before `now`, so every record passes the monitor's clock-skew check.
 */
export function planTraffic(o: { modelId: string; seed: number; count: number; now: number }): TrafficPlan {
  const spanMs = 4 * DAY
  const start = Math.floor((o.now - 6 * DAY) / HOUR) * HOUR
  const plan: TrafficPlan = {
    modelId: o.modelId,
    seed: o.seed,
    count: o.count,
    start,
    spanMs,
    labelOrder: new Uint32Array(o.count),
    labelArrival: new Float64Array(o.count),
  }
  const arrival = new Float64Array(o.count)
  for (let i = 0; i < o.count; i++) arrival[i] = labelTimeOf(plan, i)
  const order = Array.from({ length: o.count }, (_, i) => i).sort((a, b) => arrival[a]! - arrival[b]!)
  order.forEach((i, k) => {
    plan.labelOrder[k] = i
    plan.labelArrival[k] = arrival[i]!
  })
  return plan
}

function timesOf(plan: TrafficPlan, i: number): { eventTime: number; sentAt: number; rand: () => number } {
  const rand = streamFor(plan.seed, i)
  const eventTime = plan.start + Math.floor(((i + rand()) * plan.spanMs) / plan.count)
  return { eventTime, sentAt: eventTime + Math.floor(rand() * 10 * MINUTE), rand }
}

function labelTimeOf(plan: TrafficPlan, i: number): number {
  const label = streamFor(plan.seed ^ 0x5bd1e995, i)
  return timesOf(plan, i).eventTime + Math.floor(MINUTE * Math.exp(label() * Math.log((2 * DAY) / MINUTE)))
}

/**
 * The id of prediction i: a random-looking UUID (version 4 layout), as most producers send. Ids
 * that sort in event-time order (a counter) would let ClickHouse skip most of the labels table
 * when it looks up a window's ids, which random ids do not.
 */
export function plannedPredictionId(plan: TrafficPlan, i: number): string {
  const rand = streamFor(plan.seed ^ 0x1b873593, i)
  const hex = (digits: number): string =>
    Math.floor(rand() * 16 ** digits)
      .toString(16)
      .padStart(digits, '0')
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${(8 + Math.floor(rand() * 4)).toString(16)}${hex(3)}-${hex(6)}${hex(6)}`
}

/** Prediction i of the plan with the Kafka timestamp it is sent at. */
export function plannedPrediction(plan: TrafficPlan, i: number): { event: PredictionEvent; at: number } {
  const { eventTime, sentAt, rand } = timesOf(plan, i)
  return { event: makePrediction(plan.modelId, plannedPredictionId(plan, i), eventTime, rand), at: sentAt }
}

/** The k-th label in arrival order. */
export function plannedLabel(plan: TrafficPlan, k: number): { event: LabelEvent; at: number } {
  const i = plan.labelOrder[k]!
  const at = plan.labelArrival[k]!
  const truth = streamFor(plan.seed ^ 0x27d4eb2f, i)()
  return { event: makeLabel(plannedPrediction(plan, i).event, at, truth), at }
}
