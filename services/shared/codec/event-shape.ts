import { z } from 'zod'
import type { LabelEvent, PredictionEvent } from '../events/types.ts'
import { formatIssues } from '../config/model-config.ts'
import { DecodeError } from './decode-error.ts'

// Structural checks of an event, whether it came as Avro or JSON: the same rules as the Avro
// schema plus what Avro cannot say (finite numbers, non-empty ids). Semantic checks that need the
// model's config (known model, feature names, event time range) are the monitor's.

const finite = z.number({ error: 'must be a finite number' }).refine(Number.isFinite, 'must be a finite number')
const timestampMs = z.number().int('must be an integer number of ms').min(0).max(8_640_000_000_000_000)

const predictionShape = z.object({
  prediction_id: z.string().min(1, 'must not be empty'),
  model_id: z.string().min(1, 'must not be empty'),
  model_version: z.string().min(1, 'must not be empty'),
  event_time: timestampMs,
  numeric_features: z.record(z.string(), finite.nullable()).default({}),
  categorical_features: z.record(z.string(), z.string().nullable()).default({}),
  prediction: z.object({
    predicted_class: z.string().nullable().default(null),
    scores: z.record(z.string(), finite).default({}),
    value: finite.nullable().default(null),
  }),
  segments: z.record(z.string(), z.string()).default({}),
})

const labelShape = z.object({
  prediction_id: z.string().min(1, 'must not be empty'),
  model_id: z.string().min(1, 'must not be empty'),
  label_time: timestampMs,
  label_class: z.string().nullable().default(null),
  label_value: finite.nullable().default(null),
})

function check<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value)
  if (!result.success) throw new DecodeError('invalid_event', formatIssues(result.error))
  return result.data
}

export function checkPrediction(value: unknown): PredictionEvent {
  const event = check(predictionShape, value)
  if (event.prediction.predicted_class === null && event.prediction.value === null && Object.keys(event.prediction.scores).length === 0) {
    throw new DecodeError('invalid_event', 'prediction: has neither predicted_class, scores nor value')
  }
  return event
}

export function checkLabel(value: unknown): LabelEvent {
  const event = check(labelShape, value)
  if (event.label_class === null && event.label_value === null) {
    throw new DecodeError('invalid_event', 'label: has neither label_class nor label_value')
  }
  return event
}
