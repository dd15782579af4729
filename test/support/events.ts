import type { ConsumedRecord } from '../../services/shared/kafka/records.ts'
import type { LabelEvent, PredictionEvent } from '../../services/shared/events/types.ts'

export function samplePrediction(overrides: Partial<PredictionEvent> = {}): PredictionEvent {
  return {
    prediction_id: 'p-1',
    model_id: 'credit-default',
    model_version: '2026-11-01.3',
    event_time: 1_764_000_000_000,
    numeric_features: { income: 52_000.5, age: 41, utilization: null },
    categorical_features: { country: 'DE', channel: null },
    prediction: { predicted_class: '1', scores: { '0': 0.25, '1': 0.75 }, value: null },
    segments: { new_entity: 'false', region: 'eu' },
    ...overrides,
  }
}

export function sampleLabel(overrides: Partial<LabelEvent> = {}): LabelEvent {
  return { prediction_id: 'p-1', model_id: 'credit-default', label_time: 1_764_000_600_000, label_class: '1', label_value: null, ...overrides }
}

/** A consumed record at `offset` of partition 0 (topic, key and value do not matter to a row). */
export function recordAt(offset: number, timestamp: number, partition = 0): ConsumedRecord {
  return { topic: 'test', partition, offset: String(offset), key: null, value: null, timestamp, headers: {} }
}
