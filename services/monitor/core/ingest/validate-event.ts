import type { LabelEvent, PredictionEvent } from '../../../shared/events/types.ts'
import type { RuntimeModel } from '../runtime-model.ts'

export interface Rejection {
  code: string
  reason: string
}

/** Oldest event time accepted, relative to the record's Kafka timestamp. */
const MAX_EVENT_AGE_MS = 2 * 365 * 86_400_000

// Times are checked against the record's Kafka timestamp rather than the wall clock, so a
// replay of the same records makes the same decisions (and backfills of old data work).
function checkTime(field: string, time: number, recordTimestamp: number, maxFutureSkewMs: number): Rejection | null {
  if (time > recordTimestamp + maxFutureSkewMs) {
    return {
      code: `${field}_in_future`,
      reason: `${field} ${new Date(time).toISOString()} is ${Math.round((time - recordTimestamp) / 1000)} s after the record was produced (allowed: ${maxFutureSkewMs / 1000} s of clock skew)`,
    }
  }
  if (time < recordTimestamp - MAX_EVENT_AGE_MS) {
    return { code: `${field}_too_old`, reason: `${field} ${new Date(time).toISOString()} is more than two years before the record was produced` }
  }
  return null
}

/** Checks a structurally valid prediction against its model's config. */
export function validatePrediction(event: PredictionEvent, model: RuntimeModel | undefined, recordTimestamp: number): Rejection | null {
  if (!model) return { code: 'unknown_model', reason: `model_id '${event.model_id}' is not configured in driftgate` }
  const config = model.config
  const timeProblem = checkTime('event_time', event.event_time, recordTimestamp, config.max_future_skew)
  if (timeProblem) return timeProblem
  const { predicted_class, scores, value } = event.prediction
  if (config.task === 'regression') {
    if (value === null) return { code: 'invalid_prediction', reason: 'prediction.value is required for a regression model' }
    return null
  }
  const classes = config.classes ?? []
  if (predicted_class !== null && !classes.includes(predicted_class)) {
    return { code: 'unknown_class', reason: `prediction.predicted_class '${predicted_class}' is not one of the model's classes (${classes.join(', ')})` }
  }
  // for-in rather than Object.entries: no array per score of every prediction.
  for (const c in scores) {
    if (!classes.includes(c))
      return { code: 'unknown_class', reason: `prediction.scores has class '${c}', not one of the model's classes (${classes.join(', ')})` }
  }
  for (const c in scores) {
    const s = scores[c]!
    if (s < 0 || s > 1) return { code: 'invalid_prediction', reason: `prediction.scores.${c} = ${s} is outside [0, 1]` }
  }
  if (config.task === 'binary_classification' && scores[config.positive_class!] === undefined && predicted_class === null) {
    return { code: 'invalid_prediction', reason: `prediction needs scores.${config.positive_class} or predicted_class` }
  }
  return null
}

export function validateLabel(event: LabelEvent, model: RuntimeModel | undefined, recordTimestamp: number): Rejection | null {
  if (!model) return { code: 'unknown_model', reason: `model_id '${event.model_id}' is not configured in driftgate` }
  const config = model.config
  const timeProblem = checkTime('label_time', event.label_time, recordTimestamp, config.max_future_skew)
  if (timeProblem) return timeProblem
  if (config.task === 'regression') {
    if (event.label_value === null) return { code: 'invalid_label', reason: 'label_value is required for a regression model' }
    return null
  }
  const classes = config.classes ?? []
  if (event.label_class === null) return { code: 'invalid_label', reason: 'label_class is required for a classification model' }
  if (!classes.includes(event.label_class))
    return { code: 'unknown_class', reason: `label_class '${event.label_class}' is not one of the model's classes (${classes.join(', ')})` }
  return null
}
