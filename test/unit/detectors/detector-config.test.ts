import { describe, expect, it } from 'vitest'
import { driftLevels, minEffectOf, parseDetectorConfig, performanceMetricFor } from '../../../services/monitor/core/detectors/detector-config.ts'
import { evidenceQueries } from '../../../services/monitor/store/evidence-sql.ts'
import { ConfigError } from '../../../services/shared/config/model-config.ts'
import { HOUR, modelConfig, windowKey } from './synthetic.ts'

describe('detector config', () => {
  it('every field has a default', () => {
    const c = parseDetectorConfig(undefined)
    expect(c.min_volume).toBe(200)
    expect(c.drift.numeric.psi).toEqual({ warning: 0.2, critical: 0.3 })
    expect(c.drift).toMatchObject({ min_effect: { mean_shift: 0.25, mix: 0.1 }, false_alarm_rate: 1e-4, critical_factor: 2 })
    expect(c.performance).toMatchObject({ min_label_coverage: 0.5, z: 1.96, max_drop: { warning: 0.05, critical: 0.1 } })
    expect(c.anomaly).toMatchObject({ z: { warning: 4, critical: 8 }, seasonal_period: 7 * 24 * HOUR, fallback_period: 24 * HOUR, min_relative_change: 0.2 })
    expect(c.data_quality.skew_window).toBe(24 * HOUR)
    expect(c.hygiene).toMatchObject({ fire_after: { n: 2, m: 3 }, resolve_after: 3, mute: [] })
    expect(performanceMetricFor(modelConfig(), c)).toBe('accuracy')
    expect(performanceMetricFor(modelConfig({ task: 'regression', positive_class: undefined, classes: undefined }), c)).toBe('rmse')
  })

  it('reports errors with the field path', () => {
    const bad = {
      drift: { numeric: { psi: { warning: 0.4 } } },
      hygiene: { fire_after: { n: 4, m: 3 }, mute: [{ from: '2024-11-29', to: '2024-11-30T00:00:00Z' }] },
    }
    let message = ''
    try {
      parseDetectorConfig(bad, 'models[0].detectors')
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError)
      message = (error as Error).message
    }
    expect(message).toContain('models[0].detectors.drift.numeric.psi.critical: critical must be >= warning')
    expect(message).toContain('models[0].detectors.hygiene.fire_after.n: n must be <= m')
    expect(message).toContain("models[0].detectors.hygiene.mute[0].from: invalid time '2024-11-29'")
  })

  it('rejects overrides for features the model does not have, and applies the others', () => {
    const model = modelConfig({ features: { numeric: ['age'], categorical: [] } })
    expect(() => parseDetectorConfig({ drift: { importance: { agee: 2 } } }, 'models[1].detectors', model)).toThrow(
      'models[1].detectors.drift.importance.agee: not a feature',
    )
    const c = parseDetectorConfig(
      { drift: { features: { age: { psi: { warning: 0.5 } } } }, hygiene: { mute: [{ from: '2024-11-29T00:00:00Z', to: Date.UTC(2024, 10, 30) }] } },
      'detectors',
      model,
    )
    expect(driftLevels(c, 'age', 'psi', false)).toEqual({ warning: 0.5, critical: 0.5 })
    expect(driftLevels(c, 'other', 'psi', false)).toEqual({ warning: 0.2, critical: 0.3 })
    expect(c.hygiene.mute[0]).toMatchObject({ from: Date.UTC(2024, 10, 29), to: Date.UTC(2024, 10, 30) })
  })

  it('minimum effects: model-wide, then per feature', () => {
    const model = modelConfig({ features: { numeric: ['age'], categorical: ['city'] } })
    const c = parseDetectorConfig({ drift: { min_effect: { mix: 0.2 }, features: { age: { min_effect: { mean_shift: 0.5 } } } } }, 'detectors', model)
    expect(minEffectOf(c, 'age')).toEqual({ mean_shift: 0.5, mix: 0.2 })
    expect(minEffectOf(c, 'city')).toEqual({ mean_shift: 0.25, mix: 0.2 })
    expect(() => parseDetectorConfig({ drift: { min_effect: { mix: 1.5 } } })).toThrow('drift.min_effect.mix')
  })
})

describe('evidence queries', () => {
  it('name the configured database', () => {
    const q = evidenceQueries('analytics_prod')
    expect(q.summary(windowKey(HOUR), ['volume'], 2)).toMatch(/ FROM analytics_prod\.window_summary FINAL /)
    expect(q.labelHealth('m', HOUR, HOUR, 2)).toMatch(/ FROM analytics_prod\.label_health FINAL /)
  })

  it('escape every literal', () => {
    const q = evidenceQueries('driftgate').featureStats(windowKey(10 * HOUR, { model_id: "o'brien\\x", segment: "city=L'Aquila" }), ["it's"], ['count'], 24)
    expect(q).toBe(
      "SELECT window_start, feature, count FROM driftgate.window_feature_stats FINAL WHERE model_id = 'o\\'brien\\\\x' AND model_version = 'v1' AND segment = 'city=L\\'Aquila' AND window_size_ms = 3600000 AND window_start >= 0 AND window_start <= 36000000 AND feature IN ('it\\'s') ORDER BY feature, window_start",
    )
  })
})
