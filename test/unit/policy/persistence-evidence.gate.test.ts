import { describe, expect, it } from 'vitest'
import { evidenceGate, performanceDrop } from '../../../services/policy/core/gates/evidence.gate.ts'
import { persistenceGate } from '../../../services/policy/core/gates/persistence.gate.ts'
import { CP, H, context, degradedWindows, policy, trigger } from './fixtures.ts'

const drift = (overrides = {}) => trigger({ alert_id: 'a-drift', kind: 'drift', subject: 'income', observed: 0.3, expected: 0, threshold: 0.2, ...overrides })

describe('persistence gate', () => {
  it('a one-window spike is suppressed', () => {
    const o = persistenceGate(context({}, [drift({ last_seen: CP })]), policy())
    expect(o.verdict).toBe('suppress')
    expect(o.reason.code).toBe('single_window_spike')
    expect(o.facts).toEqual({ longest_run: 1, required: 3 })
  })

  it('two windows of three are not enough; four are', () => {
    expect(persistenceGate(context({}, [drift({ last_seen: CP + H })]), policy()).reason.code).toBe('not_persistent')
    const o = persistenceGate(context({}, [drift()]), policy())
    expect(o.verdict).toBe('pass')
    expect(o.facts?.longest_run).toBe(4)
  })

  it('resolved alerts and data-quality alerts are not a shift', () => {
    const o = persistenceGate(context({}, [drift({ status: 'resolved' }), trigger({ alert_id: 'dq', kind: 'data_quality' })]), policy())
    expect(o.reason.code).toBe('no_firing_shift')
  })
})

describe('evidence gate', () => {
  it('a labeled performance drop over N windows that each had enough labels is evidence', () => {
    const o = evidenceGate(context(), policy())
    expect(o.verdict).toBe('pass')
    expect(o.reason.code).toBe('performance_drop')
    // Last three windows of the alert: CP+1h..CP+3h with 60%, 50%, 40% labels.
    expect(o.facts?.lowest_coverage).toBe(0.4)
    expect(o.facts?.drop).toBeCloseTo(0.9 - 0.8, 12)
  })

  it('the same drop whose latest windows are barely labeled waits for labels', () => {
    // Windows CP+3h..CP+5h have 40%, 10% and 0% labels.
    const o = evidenceGate(context({}, [trigger({ last_seen: CP + 5 * H })]), policy())
    expect(o.verdict).toBe('hold')
    expect(o.reason.code).toBe('performance_windows_unlabeled')
  })

  it('error metrics count a rise as a drop', () => {
    expect(performanceDrop(trigger({ subject: 'mae', observed: 12, expected: 10 }))).toBe(2)
    expect(performanceDrop(trigger({ subject: 'accuracy', observed: 0.7, expected: 0.9 }))).toBeCloseTo(0.2, 12)
  })

  it('sustained drift with a drop of estimated accuracy is evidence', () => {
    const o = evidenceGate(context({}, [drift()]), policy())
    // Estimated accuracy: 0.9 in the reference windows, 0.85 since the change point.
    expect(o.facts?.estimated_drop).toBeCloseTo(0.9 - 0.85, 12)
    expect(o.verdict).toBe('pass')
    expect(o.reason.code).toBe('drift_with_estimated_drop')
  })

  it('drift that does not hurt the estimate, or drift in an unimportant feature, is suppressed', () => {
    const harmless = degradedWindows().map((w) => (w.window_start >= CP ? { ...w, estimated_accuracy: 0.895 } : w))
    const o = evidenceGate(context({ windows: harmless }, [drift()]), policy())
    expect(o.verdict).toBe('suppress')
    expect(o.reason.code).toBe('no_retrain_evidence')
    expect(o.facts?.estimated_drop).toBeCloseTo(0.005, 12)
    const unimportant = evidenceGate(context({}, [drift()]), policy({ evidence: { important_features: ['age'] } }))
    expect(unimportant.verdict).toBe('suppress')
    expect(unimportant.reason.message).toContain('important features (age)')
  })

  it('the monitor’s drift alert on subject features names the drifted features in its evidence', () => {
    const features = drift({
      subject: 'features',
      evidence: [
        { name: 'age', score: 0.4, detail: 'psi 0.4' },
        { name: 'income', score: 0.3, detail: '' },
      ],
    })
    const o = evidenceGate(context({}, [features]), policy({ evidence: { important_features: ['age'] } }))
    expect(o.reason.code).toBe('drift_with_estimated_drop')
    expect(o.reason.message).toContain('Sustained drift in age, income')
  })

  it('an estimated_performance alert backs the drift even without window estimates', () => {
    const est = trigger({ alert_id: 'a-est', kind: 'estimated_performance', estimated: true, subject: 'accuracy' })
    const flat = degradedWindows().map((w) => ({ ...w, estimated_accuracy: null }))
    expect(evidenceGate(context({ windows: flat }, [drift(), est]), policy()).reason.code).toBe('drift_with_estimated_drop')
  })

  it('drift with an estimated drop on a model that labels show still calibrated is a label shift: hold, not retrain', () => {
    // Calibration error per window, labeled accuracy lower after the change point (the class prior moved).
    const withCalibration = (after: number) =>
      degradedWindows().map((w) => ({
        ...w,
        metrics: { ...w.metrics, calibration_error: w.window_start >= CP ? after : 0.03 },
      }))
    const calibrated = evidenceGate(context({ windows: withCalibration(0.045) }, [drift()]), policy())
    expect([calibrated.verdict, calibrated.reason.code]).toEqual(['hold', 'label_shift'])
    // Windows CP..CP+3h have at least 30% labels: four of them, weighted by their labels.
    expect(calibrated.reason.message).toContain('4 labeled windows since the change point')
    expect(calibrated.reason.message).toContain('calibration error 0.045 vs 0.030')
    expect(calibrated.reason.message).toContain('labeled accuracy 0.900 to 0.800')
    // Calibration broken (P(y|x) changed): a retrain can help.
    const broken = evidenceGate(context({ windows: withCalibration(0.09) }, [drift()]), policy())
    expect(broken.reason.code).toBe('drift_with_estimated_drop')
    // Too few labeled windows yet to tell: the estimate stands.
    expect(evidenceGate(context({ windows: withCalibration(0.045) }, [drift()]), policy({ min_label_coverage: 0.55 })).reason.code).toBe(
      'drift_with_estimated_drop',
    )
  })
})
