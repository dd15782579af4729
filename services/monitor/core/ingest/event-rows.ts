import type { LabelEvent, PredictionEvent } from '../../../shared/events/types.ts'
import type { ConsumedRecord } from '../../../shared/kafka/records.ts'
import type { RuntimeModel } from '../runtime-model.ts'
import type { RowBinaryLayout } from '../../../shared/clickhouse/row-binary.ts'

/** Row of the predictions table (infra/clickhouse/0100_raw_events.sql). */
export interface PredictionRow {
  prediction_id: string
  model_id: string
  model_version: string
  event_time: number
  event_date: string
  numeric_names: string[]
  numeric_values: (number | null)[]
  categorical_names: string[]
  categorical_values: (string | null)[]
  predicted_class: string | null
  score: number | null
  class_names: string[]
  class_scores: number[]
  predicted_value: number | null
  segment_names: string[]
  segment_values: string[]
  kafka_partition: number
  kafka_offset: number
  kafka_timestamp: number
  ingested_at: number
}

export interface LabelRow {
  prediction_id: string
  model_id: string
  label_time: number
  label_date: string
  label_class: string | null
  label_value: number | null
  kafka_partition: number
  kafka_offset: number
  kafka_timestamp: number
  ingested_at: number
}

// The last date formatted: consecutive events are mostly of the same day.
const DAY_MS = 86_400_000
let lastDay = NaN
let lastDate = ''

/** The UTC date of a time in ms, as the event_date / label_date columns hold it. */
export function isoDate(ms: number): string {
  const day = Math.floor(ms / DAY_MS)
  if (day !== lastDay) {
    lastDay = day
    lastDate = new Date(day * DAY_MS).toISOString().slice(0, 10)
  }
  return lastDate
}

/** The model's score: the positive class's score for a binary classifier, else the top score. */
export function positiveScore(event: PredictionEvent, model: RuntimeModel): number | null {
  const { scores } = event.prediction
  if (model.config.task === 'binary_classification') return scores[model.config.positive_class!] ?? null
  const values = Object.values(scores)
  return values.length ? Math.max(...values) : null
}

/** The predicted class, derived from the scores when the producer did not send it. */
export function predictedClass(event: PredictionEvent, model: RuntimeModel): string | null {
  if (event.prediction.predicted_class !== null || model.config.task === 'regression') return event.prediction.predicted_class
  let best: string | null = null
  for (const name in event.prediction.scores) if (best === null || event.prediction.scores[name]! > event.prediction.scores[best]!) best = name
  if (best === null) return null
  if (model.config.task === 'binary_classification') {
    const positive = model.config.positive_class!
    const negative = (model.config.classes ?? []).find((c) => c !== positive) ?? null
    return (event.prediction.scores[positive] ?? 0) >= model.config.decision_threshold ? positive : negative
  }
  return best
}

/** A map's names and values in its key order, as two arrays of its size (for-in: no array of
 *  keys; growing arrays by push would allocate twice the bytes). */
function split<V>(map: Record<string, V>): [string[], V[]] {
  let n = 0
  for (const _ in map) n++
  const names = new Array<string>(n)
  const values = new Array<V>(n)
  let i = 0
  for (const name in map) {
    names[i] = name
    values[i++] = map[name]!
  }
  return [names, values]
}

export function predictionRow(event: PredictionEvent, model: RuntimeModel, record: ConsumedRecord, ingestedAt: number): PredictionRow {
  const [numericNames, numericValues] = split(event.numeric_features)
  const [categoricalNames, categoricalValues] = split(event.categorical_features)
  const [classNames, classScores] = split(event.prediction.scores)
  const [segmentNames, segmentValues] = split(event.segments)
  return {
    prediction_id: event.prediction_id,
    model_id: event.model_id,
    model_version: event.model_version,
    event_time: event.event_time,
    event_date: isoDate(event.event_time),
    numeric_names: numericNames,
    numeric_values: numericValues,
    categorical_names: categoricalNames,
    categorical_values: categoricalValues,
    predicted_class: predictedClass(event, model),
    score: positiveScore(event, model),
    class_names: classNames,
    class_scores: classScores,
    predicted_value: event.prediction.value,
    segment_names: segmentNames,
    segment_values: segmentValues,
    kafka_partition: record.partition,
    kafka_offset: Number(record.offset),
    kafka_timestamp: record.timestamp,
    ingested_at: ingestedAt,
  }
}

export function labelRow(event: LabelEvent, record: ConsumedRecord, ingestedAt: number): LabelRow {
  return {
    prediction_id: event.prediction_id,
    model_id: event.model_id,
    label_time: event.label_time,
    label_date: isoDate(event.label_time),
    label_class: event.label_class,
    label_value: event.label_value,
    kafka_partition: record.partition,
    kafka_offset: Number(record.offset),
    kafka_timestamp: record.timestamp,
    ingested_at: ingestedAt,
  }
}

/** The predictions table's rows as the monitor inserts them (RowBinary). */
export const PREDICTION_LAYOUT: RowBinaryLayout<PredictionRow> = {
  columns: [
    'prediction_id',
    'model_id',
    'model_version',
    'event_time',
    'event_date',
    'numeric_names',
    'numeric_values',
    'categorical_names',
    'categorical_values',
    'predicted_class',
    'score',
    'class_names',
    'class_scores',
    'predicted_value',
    'segment_names',
    'segment_values',
    'kafka_partition',
    'kafka_offset',
    'kafka_timestamp',
    'ingested_at',
  ],
  write(w, r) {
    w.string(r.prediction_id)
    w.recurringString(r.model_id)
    w.recurringString(r.model_version)
    w.uint64(r.event_time)
    w.date(r.event_time)
    w.recurringStrings(r.numeric_names)
    w.nullableFloat64s(r.numeric_values)
    w.recurringStrings(r.categorical_names)
    w.nullableStrings(r.categorical_values)
    w.nullableString(r.predicted_class)
    w.nullableFloat64(r.score)
    w.recurringStrings(r.class_names)
    w.float64s(r.class_scores)
    w.nullableFloat64(r.predicted_value)
    w.recurringStrings(r.segment_names)
    w.strings(r.segment_values)
    w.uint32(r.kafka_partition)
    w.uint64(r.kafka_offset)
    w.uint64(r.kafka_timestamp)
    w.uint64(r.ingested_at)
  },
}

/** The labels table's rows as the monitor inserts them (RowBinary). */
export const LABEL_LAYOUT: RowBinaryLayout<LabelRow> = {
  columns: [
    'prediction_id',
    'model_id',
    'label_time',
    'label_date',
    'label_class',
    'label_value',
    'kafka_partition',
    'kafka_offset',
    'kafka_timestamp',
    'ingested_at',
  ],
  write(w, r) {
    w.string(r.prediction_id)
    w.recurringString(r.model_id)
    w.uint64(r.label_time)
    w.date(r.label_time)
    w.nullableString(r.label_class)
    w.nullableFloat64(r.label_value)
    w.uint32(r.kafka_partition)
    w.uint64(r.kafka_offset)
    w.uint64(r.kafka_timestamp)
    w.uint64(r.ingested_at)
  },
}
