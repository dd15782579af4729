import { describe, expect, it } from 'vitest'
import { closingWindowStart, deferrableKeys, HeldOpenWindows, planRound, recomputeChunks } from '../../../services/monitor/core/window-lifecycle.ts'
import { windowRefKey, type WindowRef } from '../../../services/monitor/core/windows/window-math.ts'

const H = 3_600_000
const M = 60_000
const t = (iso: string): number => Date.parse(iso)
const ref = (start: number, size = H, model = 'm'): WindowRef => ({ model_id: model, window_size_ms: size, window_start: start })

describe('the window a prediction may close', () => {
  // A window [s, s + size) closes once a prediction stamped at or after s + size + lateness
  // arrives; the prediction closes the window whose closing range [end + lateness, end +
  // lateness + size) holds it.
  it.each([
    ['2025-11-28T10:30:00Z', '2025-11-28T09:00:00Z'],
    ['2025-11-28T10:15:00Z', '2025-11-28T09:00:00Z'],
    ['2025-11-28T10:14:59.999Z', '2025-11-28T08:00:00Z'],
    ['2025-11-28T11:14:59.999Z', '2025-11-28T09:00:00Z'],
    ['2025-11-28T11:15:00Z', '2025-11-28T10:00:00Z'],
  ])('hourly windows, 15 min lateness: a prediction at %s closes the window of %s', (at, start) => {
    expect(closingWindowStart(t(at), H, 15 * M)).toBe(t(start))
  })

  it('with no lateness, the window just before the prediction; daily windows too', () => {
    expect(closingWindowStart(t('2025-11-28T00:00:00Z'), 24 * H, 0)).toBe(t('2025-11-27T00:00:00Z'))
    expect(closingWindowStart(t('2025-11-28T23:59:59Z'), 24 * H, 0)).toBe(t('2025-11-27T00:00:00Z'))
    expect(closingWindowStart(t('2025-11-29T02:00:00Z'), 24 * H, 3 * H)).toBe(t('2025-11-27T00:00:00Z'))
  })
})

describe('what a round takes', () => {
  it.each([
    // closing, idle, behind, backlog interval -> takeAll, backlog
    [true, false, true, 60_000, true, false],
    [false, true, true, 60_000, true, false],
    [false, false, true, 60_000, false, true],
    [false, false, true, 0, false, false],
    [false, false, false, 60_000, false, false],
  ])('closing %s, idle %s, behind %s, interval %i: all %s, backlog %s', (closing, idle, behind, backlogRefreshMs, takeAll, backlog) => {
    expect(planRound({ closing, idle, behind, backlogRefreshMs })).toEqual({ takeAll, backlog })
  })

  it('defers only urgent windows marked less than the backlog interval ago, and only during a backlog', () => {
    const now = 1_000_000
    const due = [
      { ref: ref(0), urgent: true, markedAt: now - 10_000 },
      { ref: ref(H), urgent: true, markedAt: now - 60_000 },
      { ref: ref(2 * H), urgent: false, markedAt: now - 1_000 },
    ]
    expect([...deferrableKeys(due, { takeAll: false, backlog: true }, now, 60_000)]).toEqual([windowRefKey(ref(0))])
    expect(deferrableKeys(due, { takeAll: false, backlog: false }, now, 60_000).size).toBe(0)
  })
})

describe('recomputations', () => {
  it('cut per model and size, by start, at most a day of event time and 48 windows each', () => {
    const hourly = Array.from({ length: 100 }, (_, i) => ref((99 - i) * H))
    const fiveMinutes = Array.from({ length: 50 }, (_, i) => ref(i * 5 * M, 5 * M))
    const twoDays = [ref(0, 48 * H, 'other'), ref(96 * H, 48 * H, 'other'), ref(48 * H, 48 * H, 'other')]
    const chunks = recomputeChunks([...hourly, ...twoDays, ...fiveMinutes])
    const shape = chunks.map((c) => `${c[0]!.model_id}/${c[0]!.window_size_ms / M}m x${c.length}`)
    // 24 hourly windows make a day; 48 five-minute windows are four hours; a two-day window alone.
    expect(shape).toEqual([
      'm/60m x24',
      'm/60m x24',
      'm/60m x24',
      'm/60m x24',
      'm/60m x4',
      'other/2880m x1',
      'other/2880m x1',
      'other/2880m x1',
      'm/5m x48',
      'm/5m x2',
    ])
    expect(chunks[0]!.map((r) => r.window_start)).toEqual(Array.from({ length: 24 }, (_, i) => i * H))
    expect(chunks.slice(5, 8).map((c) => c[0]!.window_start)).toEqual([0, 48 * H, 96 * H])
  })
})

describe('recomputations of windows whose size is known', () => {
  it('read many small windows together and a busy one alone, within half a million predictions and 48 windows', () => {
    const sixHours = 6 * H
    // Two weeks of six-hour windows still receiving labels, 600 predictions each, one with a million.
    const refs = Array.from({ length: 56 }, (_, i) => ref(i * sixHours, sixHours))
    const rows = (r: { window_start: number }): number | undefined =>
      r.window_start === 50 * sixHours ? 1_000_000 : r.window_start >= 54 * sixHours ? undefined : 600
    const chunks = recomputeChunks(refs, rows)
    expect(chunks.map((c) => c.length)).toEqual([48, 2, 1, 5])
    expect(chunks[2]!.map((r) => r.window_start)).toEqual([50 * sixHours])
    // Unknown ones count by size: four six-hour windows make a day.
    expect(recomputeChunks(refs.slice(0, 8)).map((c) => c.length)).toEqual([4, 4])
  })
})

describe('windows held open by a lagging partition', () => {
  it('are released once the low watermark reaches their close time, each once, per model', () => {
    const held = new HeldOpenWindows()
    held.hold(ref(0), 5_000)
    held.hold(ref(H), 9_000)
    held.hold(ref(2 * H), 5_000)
    const other = { ...ref(0), model_id: 'other' }
    held.hold(other, 5_000)
    const lows = (m: number, o: number) => (id: string) => (id === 'other' ? o : m)
    expect(held.has(ref(H))).toBe(true)
    expect(held.release(lows(4_999, 4_999))).toEqual([])
    expect(held.release(lows(5_000, 0))).toEqual([ref(0), ref(2 * H)])
    expect(held.release(lows(8_000, 0))).toEqual([])
    expect(held.size).toBe(2)
    expect(held.release(lows(Infinity, 0))).toEqual([ref(H)])
    expect(held.release(lows(0, 5_000))).toEqual([other])
    expect(held.size).toBe(0)
  })

  it('computed meanwhile are forgotten, not released again', () => {
    const held = new HeldOpenWindows()
    held.hold(ref(0), 5_000)
    held.hold(ref(H), 5_000)
    held.forget(ref(0))
    expect(held.release(() => Infinity)).toEqual([ref(H)])
  })

  it('forget the oldest beyond their bound', () => {
    const held = new HeldOpenWindows(2)
    held.hold(ref(0), 1)
    held.hold(ref(H), 1)
    held.hold(ref(2 * H), 1)
    expect([held.has(ref(0)), held.has(ref(H)), held.has(ref(2 * H))]).toEqual([false, true, true])
  })
})
