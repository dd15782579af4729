import { describe, expect, it } from 'vitest'
import { knownEventGate } from '../../../services/policy/core/gates/known-event.gate.ts'
import { CP, H, context, degradedWindows, policy, trigger } from './fixtures.ts'

const blackFriday = { name: 'Black Friday', from: '2026-11-10', to: '2026-11-12', action: 'hold' }

describe('known event gate', () => {
  it('passes with an empty calendar', () => {
    expect(knownEventGate(context(), policy()).reason.code).toBe('no_known_event')
  })

  it('a shift inside the Black Friday window is held until it outlives the event', () => {
    const o = knownEventGate(context(), policy({ calendar: [blackFriday] }))
    expect(o.verdict).toBe('hold')
    expect(o.reason.code).toBe('known_event')
    expect(o.reason.message).toContain("'Black Friday'")
    // A bare 'to' date is inclusive: the event ends at the end of 2026-11-12; then 3 windows.
    expect(o.retry_at).toBe(Date.UTC(2026, 10, 13) + 3 * H)
  })

  it('a shift that kept firing for persistence_windows after the event ended is not explained by it', () => {
    const shortEvent = { ...blackFriday, to: '2026-11-11T00:30:00Z' }
    // Windows starting after 00:30 are CP+1h..CP+5h: five of them.
    const long = context({}, [trigger({ last_seen: CP + 5 * H })])
    expect(knownEventGate(long, policy({ calendar: [shortEvent] })).reason.code).toBe('persists_after_known_event')
    // Only CP+1h and CP+2h after the event: not yet.
    const short = context({}, [trigger({ last_seen: CP + 2 * H })])
    expect(knownEventGate(short, policy({ calendar: [shortEvent] })).verdict).toBe('hold')
  })

  it('windows after the event count only while, labeled now, they still show the drop: a labeled alert bridging unlabeled or recovered days is held', () => {
    const shortEvent = { ...blackFriday, to: '2026-11-11T00:30:00Z' }
    // The alert fires through CP+5h; CP+1h..CP+3h have 60%, 50%, 40% labels, CP+4h 10%, CP+5h none.
    const long = context({}, [trigger({ last_seen: CP + 5 * H })])
    expect(knownEventGate(long, policy({ calendar: [shortEvent] })).reason.code).toBe('persists_after_known_event')
    // With 50% needed, only CP+1h and CP+2h are judged after the event: two windows, not three.
    expect(knownEventGate(long, policy({ calendar: [shortEvent], min_label_coverage: 0.5 })).reason.code).toBe('known_event')
    // Labeled, but recovered (accuracy 0.9 again, above the alert's threshold of 0.85) from CP+2h on.
    const recovered = context({ windows: degradedWindows().map((w) => (w.window_start >= CP + 2 * H ? { ...w, metrics: { accuracy: 0.9 } } : w)) }, [
      trigger({ last_seen: CP + 5 * H, threshold: 0.85 }),
    ])
    expect(knownEventGate(recovered, policy({ calendar: [shortEvent] })).reason.code).toBe('known_event')
    // A label-free alert (drift) is judged in every window.
    const drift = context({}, [trigger({ kind: 'drift', subject: 'features', last_seen: CP + 5 * H })])
    expect(knownEventGate(drift, policy({ calendar: [shortEvent], min_label_coverage: 0.5 })).reason.code).toBe('persists_after_known_event')
  })

  it('annotate entries pass with a note; segment-scoped entries apply only to those segments', () => {
    expect(knownEventGate(context(), policy({ calendar: [{ ...blackFriday, action: 'annotate' }] })).reason.code).toBe('known_event_annotated')
    const usOnly = { ...blackFriday, segments: ['region=us'] }
    expect(knownEventGate(context(), policy({ calendar: [usOnly] })).verdict).toBe('pass')
    const usAlert = context({}, [trigger({ segment: 'region=us' })])
    expect(knownEventGate(usAlert, policy({ calendar: [usOnly] })).verdict).toBe('hold')
  })

  it('an event that ended before the change point does not apply', () => {
    const past = { name: 'Cyber Monday', from: '2026-11-01', to: '2026-11-02', action: 'hold' }
    expect(knownEventGate(context(), policy({ calendar: [past] })).verdict).toBe('pass')
  })
})
