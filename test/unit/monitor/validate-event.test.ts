import { describe, expect, it } from 'vitest'
import { parseDriftgateConfig } from '../../../services/shared/config/model-config.ts'
import { buildRuntimeModel } from '../../../services/monitor/core/runtime-model.ts'
import { validateLabel, validatePrediction } from '../../../services/monitor/core/ingest/validate-event.ts'
import { sampleLabel, samplePrediction } from '../../support/events.ts'

const config = parseDriftgateConfig(
  {
    models: [
      {
        model_id: 'credit-default',
        task: 'binary_classification',
        positive_class: '1',
        classes: ['0', '1'],
        features: { numeric: ['income'], categorical: [] },
      },
    ],
  },
  '/tmp',
)
const model = buildRuntimeModel(config.models[0]!, null)
const ts = samplePrediction().event_time

describe('event validation against the model config', () => {
  it('accepts a good prediction and label', () => {
    expect(validatePrediction(samplePrediction(), model, ts)).toBeNull()
    expect(validateLabel(sampleLabel(), model, sampleLabel().label_time)).toBeNull()
  })

  it.each([
    ['an unknown model', samplePrediction({ model_id: 'other' }), undefined, 'unknown_model', /'other' is not configured/],
    [
      'a time far after the record was produced',
      samplePrediction({ event_time: ts + 3_600_000 }),
      model,
      'event_time_in_future',
      /3600 s after the record was produced/,
    ],
    ['a time years before it', samplePrediction({ event_time: ts - 3 * 365 * 86_400_000 }), model, 'event_time_too_old', /more than two years/],
    [
      'an unknown class',
      samplePrediction({ prediction: { predicted_class: '2', scores: {}, value: null } }),
      model,
      'unknown_class',
      /'2' is not one of the model's classes \(0, 1\)/,
    ],
    [
      'a score outside [0, 1]',
      samplePrediction({ prediction: { predicted_class: '1', scores: { '1': 1.2 }, value: null } }),
      model,
      'invalid_prediction',
      /scores\.1 = 1\.2 is outside \[0, 1\]/,
    ],
  ])('rejects %s with a reason', (_what, event, m, code, reason) => {
    const rejection = validatePrediction(event, m, ts)
    expect(rejection?.code).toBe(code)
    expect(rejection?.reason).toMatch(reason)
  })

  it('rejects a label without the class a classifier needs', () => {
    expect(validateLabel(sampleLabel({ label_class: null, label_value: 1 }), model, sampleLabel().label_time)).toEqual({
      code: 'invalid_label',
      reason: 'label_class is required for a classification model',
    })
  })
})
