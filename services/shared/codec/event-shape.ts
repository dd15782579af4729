import { z } from 'zod'
import type { LabelEvent, PredictionEvent } from '../events/types.ts'
import { formatIssues } from '../config/model-config.ts'
import { DecodeError } from './decode-error.ts'
import { checkLabelLimits, checkPredictionLimits } from './event-limits.ts'

// Structural checks of an event, whether it came as Avro or JSON: the same rules as the Avro
// schema plus what Avro cannot say (finite numbers, non-empty ids). Semantic checks that need the
// model's config (known model, feature names, event time range) are the monitor's.

const finite = z.number({ error: 'must be a finite number' }).refine(Number.isFinite, 'must be a finite number')
const timestampMs = z.number().int('must be an integer number of ms').min(0).max(8_640_000_000_000_000)

export const predictionShape = z.object({
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

export const labelShape = z.object({
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

// The schemas above are the rules and write the error messages. Checking a well-formed record
// with them costs more than decoding its Avro, so a record is first tested by the plain checks
// below, which accept only what the schemas accept with nothing to fill in (no defaults) and
// return what they would return; anything else (missing fields, bad values) goes through the
// schemas. test/unit/codec/event-shape.test.ts holds the two to the same results.

type Plain = Record<string, unknown>
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v)
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0
const isTimestamp = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 8_640_000_000_000_000
const isFinite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

/** The map itself when it is a plain string-keyed map whose every value passes `ok` (what
 *  z.record returns, without copying it), or null. */
function plainMap<V>(value: unknown, ok: (v: unknown) => v is V): Record<string, V> | null {
  if (!isPlain(value) || Object.getPrototypeOf(value) !== Object.prototype) return null
  for (const key in value) {
    // An inherited or '__proto__' key (which a copy could not hold as an own property) is left
    // to the schema.
    if (!Object.hasOwn(value, key) || !ok(value[key]) || key === '__proto__') return null
  }
  return value as Record<string, V>
}

const finiteOrNull = (v: unknown): v is number | null => v === null || isFinite(v)
const stringOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string'
const isString = (v: unknown): v is string => typeof v === 'string'

function plainPrediction(v: unknown): PredictionEvent | null {
  if (!isPlain(v) || !isId(v.prediction_id) || !isId(v.model_id) || !isId(v.model_version) || !isTimestamp(v.event_time)) return null
  const p = v.prediction
  if (!isPlain(p) || !stringOrNull(p.predicted_class) || !finiteOrNull(p.value)) return null
  const numeric = plainMap(v.numeric_features, finiteOrNull)
  const categorical = plainMap(v.categorical_features, stringOrNull)
  const scores = plainMap(p.scores, isFinite)
  const segments = plainMap(v.segments, isString)
  if (!numeric || !categorical || !scores || !segments) return null
  return {
    prediction_id: v.prediction_id,
    model_id: v.model_id,
    model_version: v.model_version,
    event_time: v.event_time,
    numeric_features: numeric,
    categorical_features: categorical,
    prediction: { predicted_class: p.predicted_class, scores, value: p.value },
    segments,
  }
}

function plainLabel(v: unknown): LabelEvent | null {
  if (!isPlain(v) || !isId(v.prediction_id) || !isId(v.model_id) || !isTimestamp(v.label_time) || !stringOrNull(v.label_class) || !finiteOrNull(v.label_value))
    return null
  return { prediction_id: v.prediction_id, model_id: v.model_id, label_time: v.label_time, label_class: v.label_class, label_value: v.label_value }
}

export function checkPrediction(value: unknown): PredictionEvent {
  const event = plainPrediction(value) ?? check(predictionShape, value)
  if (event.prediction.predicted_class === null && event.prediction.value === null && Object.keys(event.prediction.scores).length === 0) {
    throw new DecodeError('invalid_event', 'prediction: has neither predicted_class, scores nor value')
  }
  return checkPredictionLimits(event)
}

export function checkLabel(value: unknown): LabelEvent {
  const event = plainLabel(value) ?? check(labelShape, value)
  if (event.label_class === null && event.label_value === null) {
    throw new DecodeError('invalid_event', 'label: has neither label_class nor label_value')
  }
  return checkLabelLimits(event)
}
