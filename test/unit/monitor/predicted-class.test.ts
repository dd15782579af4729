import { describe, expect, it } from 'vitest'
import { predictedClass } from '../../../services/monitor/core/ingest/event-rows.ts'
import { buildRuntimeModel } from '../../../services/monitor/core/runtime-model.ts'
import { modelConfigSchema } from '../../../services/shared/config/model-config.ts'
import type { PredictionEvent } from '../../../services/shared/events/types.ts'

const event = (score: number, predicted: string | null = null): PredictionEvent => ({
  prediction_id: 'p',
  model_id: 'm',
  model_version: 'v1',
  event_time: 0,
  numeric_features: {},
  categorical_features: {},
  prediction: { predicted_class: predicted, scores: { yes: score, no: 1 - score }, value: null },
  segments: {},
})

const model = (extra: Record<string, unknown> = {}) =>
  buildRuntimeModel(
    modelConfigSchema.parse({ model_id: 'm', task: 'binary_classification', positive_class: 'yes', classes: ['no', 'yes'], features: {}, ...extra }),
    null,
  )

describe('predicted class of a binary classifier', () => {
  it("is the producer's own class when sent, else the score against decision_threshold (0.5 by default)", () => {
    expect(predictedClass(event(0.4), model())).toBe('no')
    expect(predictedClass(event(0.4), model({ decision_threshold: 0.3 }))).toBe('yes')
    expect(predictedClass(event(0.9, 'no'), model({ decision_threshold: 0.3 }))).toBe('no')
  })
})
