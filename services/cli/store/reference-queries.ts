import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'
import type { LabelEvent, PredictionEvent } from '../../shared/events/types.ts'

// Stored predictions and labels of a time range, as events, for `driftgate reference build`.

interface StoredPrediction {
  prediction_id: string
  model_id: string
  model_version: string
  event_time: number
  numeric_names: string[]
  numeric_values: (number | null)[]
  categorical_names: string[]
  categorical_values: (string | null)[]
  predicted_class: string | null
  class_names: string[]
  class_scores: number[]
  predicted_value: number | null
  segment_names: string[]
  segment_values: string[]
}

const zip = <V>(names: string[], values: V[]): Record<string, V> => Object.fromEntries(names.map((n, i) => [n, values[i]!]))

/** A model's predictions with event_time in [from, to), first arrival per prediction_id (as windows count them). */
export async function storedPredictions(ch: ClickHouse, modelId: string, from: number, to: number): Promise<PredictionEvent[]> {
  const rows = await ch.query<StoredPrediction>(
    `SELECT prediction_id, model_id, model_version, event_time, numeric_names, numeric_values, categorical_names, categorical_values,
            predicted_class, class_names, class_scores, predicted_value, segment_names, segment_values
     FROM ${ch.table('predictions')} FINAL
     WHERE model_id = ${lit(modelId)} AND event_time >= ${Number(from)} AND event_time < ${Number(to)}
     ORDER BY prediction_id, kafka_timestamp, kafka_partition, kafka_offset
     LIMIT 1 BY prediction_id`,
  )
  return rows.map((r) => ({
    prediction_id: r.prediction_id,
    model_id: r.model_id,
    model_version: r.model_version,
    event_time: Number(r.event_time),
    numeric_features: zip(r.numeric_names, r.numeric_values),
    categorical_features: zip(r.categorical_names, r.categorical_values),
    prediction: { predicted_class: r.predicted_class, scores: zip(r.class_names, r.class_scores), value: r.predicted_value },
    segments: zip(r.segment_names, r.segment_values),
  }))
}

/** The latest label (by label_time) of each of the model's predictions with event_time in [from, to). */
export async function storedLabels(ch: ClickHouse, modelId: string, from: number, to: number): Promise<LabelEvent[]> {
  const rows = await ch.query<LabelEvent>(
    `SELECT prediction_id, model_id, label_time, label_class, label_value
     FROM ${ch.table('labels')} FINAL
     WHERE model_id = ${lit(modelId)} AND prediction_id IN (
       SELECT prediction_id FROM ${ch.table('predictions')}
       WHERE model_id = ${lit(modelId)} AND event_time >= ${Number(from)} AND event_time < ${Number(to)})
     ORDER BY prediction_id, label_time DESC
     LIMIT 1 BY prediction_id`,
  )
  return rows.map((r) => ({ ...r, label_time: Number(r.label_time) }))
}
