import { describe, expect, it } from 'vitest'
import { labelMaturity, labelMaturityGate } from '../../../services/policy/core/gates/label-maturity.gate.ts'
import { CP, H, context, degradedWindows, policy, window } from './fixtures.ts'

/** Reference windows as in the baseline, then windows whose labels barely started. */
function immatureWindows(coverages: number[]) {
  return [
    ...degradedWindows().filter((w) => w.window_start < CP),
    ...coverages.map((c, i) => window(CP + i * H, { label_coverage: c, labeled_count: Math.round(1000 * c) })),
  ]
}

describe('label maturity gate', () => {
  it('passes with enough fresh labels and enough windows over the coverage threshold', () => {
    const o = labelMaturityGate(context(), policy())
    // Fresh labels since the change point: 600 + 600 + 500 + 400 + 100 + 0.
    expect(o.facts).toMatchObject({ fresh_labels: 2200, mature_windows: 4, required_windows: 3 })
    expect(o.verdict).toBe('pass')
    expect(o.reason.code).toBe('labels_mature')
    expect(labelMaturity(context(), policy()).latest_mature?.window_start).toBe(CP + 3 * H)
  })

  it('too few fresh labels: hold, and the ETA follows the observed label rate', () => {
    const ctx = context({ windows: immatureWindows([0.2, 0.1, 0.05, 0, 0, 0]) })
    const o = labelMaturityGate(ctx, policy())
    const fresh = 200 + 100 + 50
    expect(o.verdict).toBe('hold')
    expect(o.reason.code).toBe('too_few_fresh_labels')
    expect(o.facts?.fresh_labels).toBe(fresh)
    // 150 labels missing at 300 labels/h: half an hour from now. The coverage estimate
    // (third window, ending CP+3h, plus the 2h p50 delay = CP+5h) is earlier, so the count decides.
    const byCount = ctx.as_of + ((500 - fresh) / 300) * H
    const byCoverage = CP + 3 * H + 2 * H
    expect(o.retry_at).toBe(Math.max(byCount, byCoverage))
    expect(o.reason.message).toContain('2026-11-11T06:30:00Z')
    expect(o.reason.message).toContain('300 labels/h')
  })

  it('coverage under the threshold: the ETA is the window end plus the observed p90 label delay', () => {
    const o = labelMaturityGate(context(), policy({ min_label_coverage: 0.7 }))
    expect(o.verdict).toBe('hold')
    expect(o.reason.code).toBe('label_coverage_below_threshold')
    // No window since the change point has 70% labels; the third one ends at CP+3h and
    // reaches it after the p90 delay of 5h.
    expect(o.retry_at).toBe(CP + 3 * H + 5 * H)
    expect(o.reason.message).toContain('p90')
  })

  it('without a label rate or delay the ETA is reported as unknown', () => {
    const windows = immatureWindows([0.2, 0.1]).map((w) => ({ ...w, label_delay_p50_ms: null, label_delay_p90_ms: null }))
    const o = labelMaturityGate(context({ windows, label_rate_per_hour: null }), policy())
    expect(o.verdict).toBe('hold')
    expect(o.retry_at).toBeUndefined()
    expect(o.reason.message).toContain('cannot be estimated')
  })
})
