// How a production service emits driftgate events: one prediction now, its label when the
// truth is known. Run against the local stack: npx tsx examples/emit-events.ts
import { randomUUID } from 'node:crypto'
import { createEventProducer, InvalidEventError } from '../services/shared/producer/event-producer.ts'

const events = await createEventProducer({
  brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  schemaRegistryUrl: process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081',
})

const predictionId = randomUUID()
await events.sendPredictions([
  {
    prediction_id: predictionId,
    model_id: 'credit-default',
    model_version: '2026.10',
    event_time: Date.now(),
    numeric_features: { income: 52_000, debt_ratio: 0.31, amount: 950, tenure_months: 14, late_payments: 0 },
    categorical_features: { channel: 'web', region: 'north' },
    prediction: { predicted_class: 'repaid', scores: { default: 0.12, repaid: 0.88 }, value: null },
    segments: { new_entity: 'false' },
  },
])

// Weeks later, when the loan is repaid (or not):
await events.sendLabels([{ prediction_id: predictionId, model_id: 'credit-default', label_time: Date.now(), label_class: 'repaid', label_value: null }])

// A bad event is refused before it is sent, with the field named.
try {
  await events.sendLabels([{ prediction_id: predictionId, model_id: 'credit-default', label_time: Date.now(), label_class: null, label_value: null }])
} catch (error) {
  if (error instanceof InvalidEventError) console.log(`refused: ${error.message}`)
  else throw error
}
await events.close()
console.log(`sent prediction ${predictionId} and its label`)
