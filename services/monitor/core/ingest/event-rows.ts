import type { LabelEvent, PredictionEvent } from '../../../shared/events/types.ts'
import type { ConsumedRecord } from '../../../shared/kafka/records.ts'
import type { RuntimeModel } from '../runtime-model.ts'
import type { RowBinaryLayout } from '../../../shared/clickhouse/row-binary.ts'

/** What a row of the predictions table (infra/clickhouse/0100_raw_events.sql) is written from:
 *  the accepted event, its model and its Kafka record. */
export interface PredictionSource {
  event: PredictionEvent
  model: RuntimeModel
  record: ConsumedRecord
  ingestedAt: number
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

/** The Monday of a time's UTC week as a day number: `toMonday` of the Date written for the time,
 *  which partitions the raw tables (1970-01-01 was a Thursday). */
export function mondayOf(ms: number): number {
  const day = Math.floor(ms / DAY_MS)
  return day - ((day + 3) % 7)
}

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
export const PREDICTION_LAYOUT: RowBinaryLayout<PredictionSource> = {
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
  // Straight from the event: no arrays of names and values per row. The maps' keys are written
  // through key-list slots 0-3, one per map column.
  write(w, { event: e, model, record, ingestedAt }) {
    w.string(e.prediction_id)
    w.recurringString(e.model_id)
    w.recurringString(e.model_version)
    w.uint64(e.event_time)
    w.date(e.event_time)
    w.mapNullableFloat64s(e.numeric_features, w.mapKeys(e.numeric_features, 0))
    w.mapNullableStrings(e.categorical_features, w.mapKeys(e.categorical_features, 1))
    w.nullableString(predictedClass(e, model))
    w.nullableFloat64(positiveScore(e, model))
    w.mapFloat64s(e.prediction.scores, w.mapKeys(e.prediction.scores, 2))
    w.nullableFloat64(e.prediction.value)
    w.mapStrings(e.segments, w.mapKeys(e.segments, 3))
    w.uint32(record.partition)
    w.uint64(Number(record.offset))
    w.uint64(record.timestamp)
    w.uint64(ingestedAt)
  },
  partition: ({ event }) => mondayOf(event.event_time),
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
  partition: (r) => mondayOf(r.label_time),
}
