import { describe, expect, it } from 'vitest'
import { budgetGate } from '../../../services/policy/core/gates/budget.gate.ts'
import { evidenceGate } from '../../../services/policy/core/gates/evidence.gate.ts'
import { evaluateRetrain, hasNewerVersion, type RetrainOutcome, type VersionWindow } from '../../../services/policy/core/retrain-outcome.ts'
import type { RetrainRequest } from '../../../services/shared/events/types.ts'
import { CP, H, MODEL, context, policy, trigger } from './fixtures.ts'

// The closed loop: a retrain is judged by the newer version's windows with matured labels
// against the old version's since the change point, and what it taught changes later decisions.

const request: RetrainRequest = {
  request_id: 'req-1',
  model_id: MODEL,
  model_version: 'v1',
  episode_id: 'ep-0',
  decision_id: 'd-0',
  requested_at: CP + 8 * H,
  training_data_from: CP,
  training_data_to: CP + 6 * H,
  reasons: ['root_cause:no_root_cause_found', 'evidence:drift_with_estimated_drop'],
  explanation: '',
  evidence_queries: [],
}

const win = (version: string, start: number, accuracy: number, valuePerLabel: number, labeled = 500, volume = 1000): VersionWindow => ({
  model_version: version,
  window_start: start,
  volume,
  labeled_count: labeled,
  label_coverage: labeled / volume,
  accuracy,
  business_value: valuePerLabel * labeled,
})

/** Six old windows after the change point, then six of the new version from CP+10h. */
const history = (newAccuracy: number, newValue: number): VersionWindow[] => [
  ...Array.from({ length: 6 }, (_, i) => win('v1', CP + i * H, 0.8, 0.7)),
  ...Array.from({ length: 6 }, (_, i) => win('v2', CP + (10 + i) * H, newAccuracy, newValue)),
]

/** Newcombe's interval for p1 - p2 from Wilson intervals, written out here. */
function newcombe(s1: number, n1: number, s2: number, n2: number): [number, number] {
  const z = 1.96
  const wilson = (s: number, n: number): [number, number, number] => {
    const p = s / n
    const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n)
    const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n)
    return [p, centre - half, centre + half]
  }
  const [p1, l1, u1] = wilson(s1, n1)
  const [p2, l2, u2] = wilson(s2, n2)
  return [p1 - p2 - Math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), p1 - p2 + Math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)]
}

describe('retrain outcomes', () => {
  it('a new version that is better on matured labels helped, with the value it won back', () => {
    const o = evaluateRetrain(request, history(0.9, 1.0), policy(), 150)!
    expect(o).toMatchObject({ status: 'helped', old_version: 'v1', new_version: 'v2', evidence_kind: 'drift_with_estimated_drop', deployed_at: CP + 10 * H })
    expect([o.old_labeled, o.new_labeled]).toEqual([3000, 3000])
    expect(o.old_accuracy).toBeCloseTo(0.8, 12)
    expect(o.new_accuracy).toBeCloseTo(0.9, 12)
    const [low, high] = newcombe(2700, 3000, 2400, 3000)
    expect(o.difference_low).toBeCloseTo(low, 10)
    expect(o.difference_high).toBeCloseTo(high, 10)
    // (1.0 - 0.7) per labeled prediction, over the 6000 predictions the new version served.
    expect(o.realized_value).toBeCloseTo(0.3 * 6000, 8)
    expect(o.cost).toBe(150)
  })

  it('an unchanged version is no change; a worse one is worse', () => {
    expect(evaluateRetrain(request, history(0.8, 0.7), policy(), 150)!.status).toBe('no_change')
    expect(evaluateRetrain(request, history(0.75, 0.6), policy(), 150)!.status).toBe('worse')
  })

  it('cannot tell yet without a newer version, with too few mature windows or too few labels', () => {
    expect(evaluateRetrain(request, history(0.9, 1).slice(0, 6), policy(), 150)).toBeNull()
    expect(evaluateRetrain(request, history(0.9, 1).slice(0, 8), policy(), 150)).toBeNull()
    const sparse = history(0.9, 1).map((w) => (w.model_version === 'v2' ? { ...w, labeled_count: 50, label_coverage: 0.05, business_value: 50 } : w))
    expect(evaluateRetrain(request, sparse, policy(), 150)).toBeNull()
  })

  it('learns from the newest window of each version whether a newer version served after the request', () => {
    const seen = (model_id: string, model_version: string, last_start: number) => ({ model_id, model_version, last_start })
    expect(hasNewerVersion(request, [])).toBe(false)
    // The request's own version, another model's new version, or one that stopped before the request: none.
    expect(hasNewerVersion(request, [seen(MODEL, 'v1', CP + 20 * H), seen('other', 'v2', CP + 20 * H), seen(MODEL, 'v0', CP + 7 * H)])).toBe(false)
    expect(hasNewerVersion(request, [seen(MODEL, 'v2', CP + 8 * H)])).toBe(true)
    // Whenever it says no, the windows would have told nothing either.
    const windows = history(0.9, 1)
    const last = (v: string) => Math.max(...windows.filter((w) => w.model_version === v).map((w) => w.window_start))
    expect(hasNewerVersion(request, [seen(MODEL, 'v1', last('v1')), seen(MODEL, 'v2', last('v2'))])).toBe(true)
    expect(hasNewerVersion(request, [seen(MODEL, 'v1', last('v1'))])).toBe(false)
    expect(evaluateRetrain(request, windows.slice(0, 6), policy(), 150)).toBeNull()
  })

  it('evidence of a kind whose retrain did not help must be stronger next time, and says so', () => {
    const drift = trigger({ alert_id: 'a-drift', kind: 'drift', subject: 'income', observed: 0.3, expected: 0, threshold: 0.2 })
    const unhelpful = { ...evaluateRetrain(request, history(0.8, 0.7), policy(), 150)!, episode_id: 'ep-0' } as RetrainOutcome
    // The fixtures' estimated accuracy falls 0.05 (0.9 to 0.85): enough for the usual 0.02.
    expect(evidenceGate(context({}, [drift]), policy()).reason.code).toBe('drift_with_estimated_drop')
    // Twice the usual drop (0.04) is still met; after two unhelpful retrains (0.08) it is not.
    const once = evidenceGate(context({ history: { retrains: [], approvals: [], retrain_outcomes: [unhelpful] } }, [drift]), policy())
    expect(once.reason.code).toBe('drift_with_estimated_drop')
    expect(once.reason.message).toContain('at least 0.040 needed (2x the usual drop: 1 earlier retrain on this evidence did not help)')
    const twice = evidenceGate(
      context({ history: { retrains: [], approvals: [], retrain_outcomes: [unhelpful, { ...unhelpful, request_id: 'req-2' }] } }, [drift]),
      policy(),
    )
    expect([twice.verdict, twice.reason.code]).toEqual(['suppress', 'no_retrain_evidence'])
    expect(twice.reason.message).toContain('(< 0.080 (4x the usual drop: 2 earlier retrains on this evidence did not help))')
    // Another kind of evidence is not affected.
    expect(evidenceGate(context({ history: { retrains: [], approvals: [], retrain_outcomes: [unhelpful] } }), policy()).reason.code).toBe('performance_drop')
  })

  it('the expected benefit is scaled by how earlier retrains turned out', () => {
    const plain = budgetGate(context(), policy())
    const noChange = { ...evaluateRetrain(request, history(0.8, 0.7), policy(), 150)! }
    const halved = budgetGate(context({ history: { retrains: [], approvals: [], retrain_outcomes: [noChange] } }), policy())
    expect(Number(halved.facts!.benefit)).toBeCloseTo(Number(plain.facts!.benefit) / 2, 8)
    expect(halved.reason.message).toContain('scaled by 0 of 1 earlier retrains that helped')
    const helped = evaluateRetrain(request, history(0.9, 1.0), policy(), 150)!
    const same = budgetGate(context({ history: { retrains: [], approvals: [], retrain_outcomes: [helped] } }), policy())
    expect(Number(same.facts!.benefit)).toBeCloseTo(Number(plain.facts!.benefit), 8)
  })
})
