import { describe, expect, it } from 'vitest'
import { knownEventGate } from '../../../services/policy/gates/known-event.gate.ts'
import { CP, H, context, policy, trigger } from './fixtures.ts'

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
