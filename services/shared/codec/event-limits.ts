import type { LabelEvent, PredictionEvent } from '../events/types.ts'
import { DecodeError } from './decode-error.ts'

/**
 * What one event may hold, so that one record cannot cost seconds or grow a table without bound:
 * the length of every id, name and value, the entries of every map, and times ClickHouse can
 * store (its Date columns end in 2105 on 18.16 and later).
 */
export const EVENT_LIMITS = {
  stringChars: 1_024,
  /** Numeric plus categorical features of one prediction. */
  features: 1_000,
  /** Class scores and segments of one prediction. */
  mapEntries: 1_000,
  minTimeMs: 0,
  maxTimeMs: Date.UTC(2105, 11, 31, 23, 59, 59, 999),
}

/** Whether a string may be stored: not too long, and no UTF-16 surrogate without its pair
 *  (ClickHouse refuses the whole insert for one of these). */
const storable = (value: string): boolean => value.length <= EVENT_LIMITS.stringChars && (value as string & { isWellFormed(): boolean }).isWellFormed()

function checkString(field: string, value: string | null): void {
  if (value === null || storable(value)) return
  if (value.length > EVENT_LIMITS.stringChars)
    throw new DecodeError('value_too_long', `${field} is ${value.length} characters long, more than the ${EVENT_LIMITS.stringChars} accepted`)
  throw new DecodeError('malformed_string', `${field} holds an unpaired UTF-16 surrogate (not valid Unicode text)`)
}

function checkMap(field: string, map: Record<string, string | number | null>, max: number): void {
  const entries = countKeys(map)
  if (entries > max) throw new DecodeError('too_many_entries', `${field} has ${entries} entries, more than the ${max} accepted`)
  for (const key in map) {
    // The field names of the messages are built only for a value that fails.
    if (!storable(key)) checkString(`a key of ${field}`, key)
    const value = map[key]
    if (typeof value === 'string' && !storable(value)) checkString(`${field}.${key.slice(0, 64)}`, value)
  }
}

/** Own keys of a decoded map (for-in: no array of keys per map and record). Decoded maps
 *  inherit no enumerable keys. */
function countKeys(map: object): number {
  let n = 0
  for (const _ in map) n++
  return n
}

function checkTime(field: string, time: number): void {
  if (time < EVENT_LIMITS.minTimeMs || time > EVENT_LIMITS.maxTimeMs) {
    throw new DecodeError('time_out_of_range', `${field} ${time} is outside what ClickHouse stores (1970-01-01 to 2105-12-31)`)
  }
}

export function checkPredictionLimits(e: PredictionEvent): PredictionEvent {
  for (const field of ['prediction_id', 'model_id', 'model_version'] as const) checkString(field, e[field])
  checkTime('event_time', e.event_time)
  const features = countKeys(e.numeric_features) + countKeys(e.categorical_features)
  if (features > EVENT_LIMITS.features)
    throw new DecodeError('too_many_features', `the prediction has ${features} features, more than the ${EVENT_LIMITS.features} accepted`)
  checkMap('numeric_features', e.numeric_features, EVENT_LIMITS.features)
  checkMap('categorical_features', e.categorical_features, EVENT_LIMITS.features)
  checkMap('prediction.scores', e.prediction.scores, EVENT_LIMITS.mapEntries)
  checkMap('segments', e.segments, EVENT_LIMITS.mapEntries)
  checkString('prediction.predicted_class', e.prediction.predicted_class)
  return e
}

export function checkLabelLimits(e: LabelEvent): LabelEvent {
  checkString('prediction_id', e.prediction_id)
  checkString('model_id', e.model_id)
  checkString('label_class', e.label_class)
  checkTime('label_time', e.label_time)
  return e
}
