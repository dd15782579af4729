import { describe, expect, it } from 'vitest'
import { decomposeMix, segmentGate } from '../../../services/policy/core/gates/segment.gate.ts'
import type { WindowFacts } from '../../../services/policy/core/decision-context.ts'
import { CP, H, context, degradedWindows, policy, trigger, window } from './fixtures.ts'

/** Hourly windows per new_entity segment: volumes and accuracy before and after the change. */
function segmented(before: { newShare: number; accNew: number; accOld: number }, after: { newShare: number; accNew: number; accOld: number }): WindowFacts[] {
  const out: WindowFacts[] = [...degradedWindows()]
  for (let t = CP - 24 * H; t < CP + 6 * H; t += H) {
    const s = t < CP ? before : after
    out.push(window(t, { segment: 'new_entity=true', volume: 1000 * s.newShare, metrics: { accuracy: s.accNew }, estimated_accuracy: s.accNew }))
    out.push(window(t, { segment: 'new_entity=false', volume: 1000 * (1 - s.newShare), metrics: { accuracy: s.accOld }, estimated_accuracy: s.accOld }))
  }
  return out
}

describe('segment gate', () => {
  it('drift confined to the cold-start segment is held with a segment-specific hint', () => {
    const drift = trigger({ alert_id: 'a-drift-new', kind: 'drift', subject: 'income', segment: 'new_entity=true' })
    const o = segmentGate(context({}, [drift]), policy())
    expect(o.verdict).toBe('hold')
    expect(o.reason.code).toBe('cold_start_segment_drift')
    expect(o.reason.message).toContain('cold-start handling for new_entity=true')
  })

  it('a drop that comes from more new users (change of mix), not from a worse model, is held', () => {
    const windows = segmented({ newShare: 0.1, accNew: 0.6, accOld: 0.9 }, { newShare: 0.4, accNew: 0.6, accOld: 0.9 })
    const ctx = context({ windows })
    const d = decomposeMix(ctx, 'new_entity', 24 * H)!
    // Computed by hand: overall 0.1*0.6 + 0.9*0.9 = 0.87 before, 0.4*0.6 + 0.6*0.9 = 0.78 after.
    const mix = (0.4 - 0.1) * 0.6 + (0.6 - 0.9) * 0.9
    expect(d.reference).toBeCloseTo(0.87, 10)
    expect(d.current).toBeCloseTo(0.78, 10)
    expect(d.mix).toBeCloseTo(mix, 10)
    expect(d.within).toBeCloseTo(0, 10)
    expect(d.mix + d.within).toBeCloseTo(d.change, 10)
    const o = segmentGate(ctx, policy())
    expect(o.verdict).toBe('hold')
    expect(o.reason.code).toBe('segment_mix_shift')
    expect(o.reason.message).toContain('new_entity=true grew from 10.0% to 40.0%')
  })

  it('a drop within the segments at a stable mix passes, with the split in the message', () => {
    const windows = segmented({ newShare: 0.2, accNew: 0.6, accOld: 0.9 }, { newShare: 0.2, accNew: 0.55, accOld: 0.8 })
    const ctx = context({ windows })
    const d = decomposeMix(ctx, 'new_entity', 24 * H)!
    const within = 0.2 * (0.55 - 0.6) + 0.8 * (0.8 - 0.9)
    expect(d.mix).toBeCloseTo(0, 10)
    expect(d.within).toBeCloseTo(within, 10)
    const o = segmentGate(ctx, policy())
    expect(o.verdict).toBe('pass')
    expect(o.reason.code).toBe('not_segment_confined')
    expect(o.facts?.within).toBeCloseTo(within, 10)
  })

  it('without per-segment windows the gate passes on the confinement check alone', () => {
    const o = segmentGate(context(), policy())
    expect(o.verdict).toBe('pass')
    expect(o.reason.message).toContain('the whole traffic')
  })
})
