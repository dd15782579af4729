import type { PredictionEvent } from '../../services/shared/events/types.ts'
import type { ConsumedRecord } from '../../services/shared/kafka/records.ts'
import type { RuntimeModel } from '../../services/monitor/core/runtime-model.ts'
import { isoDate, positiveScore, predictedClass } from '../../services/monitor/core/ingest/event-rows.ts'

/** A row of the predictions table as JSON (infra/clickhouse/0100_raw_events.sql): what tests
 *  insert with JSONEachRow and what ClickHouse returns for a row the monitor wrote. */
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

/** The row the monitor stores for an accepted prediction (its PREDICTION_LAYOUT, as JSON). */
export function predictionRow(event: PredictionEvent, model: RuntimeModel, record: ConsumedRecord, ingestedAt: number): PredictionRow {
  return {
    prediction_id: event.prediction_id,
    model_id: event.model_id,
    model_version: event.model_version,
    event_time: event.event_time,
    event_date: isoDate(event.event_time),
    numeric_names: Object.keys(event.numeric_features),
    numeric_values: Object.values(event.numeric_features),
    categorical_names: Object.keys(event.categorical_features),
    categorical_values: Object.values(event.categorical_features),
    predicted_class: predictedClass(event, model),
    score: positiveScore(event, model),
    class_names: Object.keys(event.prediction.scores),
    class_scores: Object.values(event.prediction.scores),
    predicted_value: event.prediction.value,
    segment_names: Object.keys(event.segments),
    segment_values: Object.values(event.segments),
    kafka_partition: record.partition,
    kafka_offset: Number(record.offset),
    kafka_timestamp: record.timestamp,
    ingested_at: ingestedAt,
  }
}
