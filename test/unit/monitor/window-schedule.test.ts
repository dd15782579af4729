import { describe, expect, it } from 'vitest'
import { WindowSchedule } from '../../../services/monitor/core/windows/window-schedule.ts'

/** The backlog refresh interval (MONITOR_BACKLOG_REFRESH_MS's default). */
const BACKLOG_REFRESH_MS = 60_000

const HOUR = 3_600_000
const ref = (start: number, size = HOUR) => ({ model_id: 'm', window_size_ms: size, window_start: start })

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t }
  return c
}

const state = async (p: Promise<void>): Promise<'resolved' | 'rejected' | 'pending'> => {
  let s: 'resolved' | 'rejected' | 'pending' = 'pending'
  p.then(
    () => (s = 'resolved'),
    () => (s = 'rejected'),
  )
  await new Promise((r) => setTimeout(r, 0))
  return s
}

describe('WindowSchedule', () => {
  it('an entry is a close check only while every mark of it is one, also across a requeue', () => {
    const c = clock()
    const schedule = new WindowSchedule(() => 10_000, c.now)
    void schedule.mark(ref(0), true, 0, 0, true)
    void schedule.mark(ref(HOUR), true, 0, 0, true)
    void schedule.mark(ref(HOUR), false)
    void schedule.mark(ref(2 * HOUR), false)
    void schedule.mark(ref(2 * HOUR), true, 0, 0, true)
    const checks = (due: { ref: { window_start: number }; closeCheck: boolean }[]) =>
      due.map((d) => [d.ref.window_start / HOUR, d.closeCheck]).sort((a, b) => Number(a[0]) - Number(b[0]))
    const taken = schedule.take(true).due
    expect(checks(taken)).toEqual([
      [0, true],
      [1, false],
      [2, false],
    ])
    // Put back while a record of the window was marked meanwhile: no longer only a check.
    void schedule.mark(ref(0), false)
    schedule.requeue(taken.filter((d) => d.ref.window_start === 0))
    expect(checks(schedule.take(true).due)).toEqual([[0, false]])
  })

  it('takes a window a refresh interval after its first mark, then at most once per interval', async () => {
    const c = clock()
    const schedule = new WindowSchedule(() => 10_000, c.now)
    const first = schedule.mark(ref(0), false)
    let taken = schedule.take()
    expect(taken.due).toEqual([])
    expect(taken.nextDueAt).toBe(1_000_000 + 10_000)
    c.t += 4_000
    void schedule.mark(ref(0), false)
    expect(schedule.take().nextDueAt).toBe(1_000_000 + 10_000)
    c.t = 1_000_000 + 10_000
    taken = schedule.take()
    expect(taken.due.map((d) => d.ref.window_start)).toEqual([0])
    schedule.computed(taken.due, c.t)
    expect(await state(first)).toBe('resolved')

    // Marked again 3 s later: not due until 10 s after the computation started.
    const computedAt = c.t
    c.t += 3_000
    const second = schedule.mark(ref(0), false)
    taken = schedule.take()
    expect(taken.due).toEqual([])
    expect(taken.nextDueAt).toBe(computedAt + 10_000)
    expect(await state(second)).toBe('pending')
    c.t = computedAt + 10_000
    taken = schedule.take()
    expect(taken.due).toHaveLength(1)
    schedule.computed(taken.due, c.t)
    expect(await state(second)).toBe('resolved')
  })

  it('while a backlog is read, takes the windows that may close at once and the others only after a minute', async () => {
    const c = clock()
    const schedule = new WindowSchedule(() => 10_000, c.now)
    const markedAt = c.t
    const open = schedule.mark(ref(0), false)
    const closing = schedule.mark(ref(HOUR), true)
    c.t += 30_000 // past the refresh interval, not past a minute
    let taken = schedule.take(false, BACKLOG_REFRESH_MS)
    expect(taken.due.map((d) => d.ref.window_start)).toEqual([HOUR])
    expect(taken.nextDueAt).toBe(markedAt + BACKLOG_REFRESH_MS)
    schedule.computed(taken.due, c.t)
    expect(await state(closing)).toBe('resolved')
    expect(await state(open)).toBe('pending')
    // Caught up: the refresh interval applies again.
    expect(schedule.take(false, 0).due.map((d) => d.ref.window_start)).toEqual([0])
    // Still reading the backlog a minute after the mark: taken (its batches wait no longer).
    const later = schedule.mark(ref(2 * HOUR), false)
    c.t += BACKLOG_REFRESH_MS - 1
    expect(schedule.take(false, BACKLOG_REFRESH_MS).due).toEqual([])
    c.t += 1
    taken = schedule.take(false, BACKLOG_REFRESH_MS)
    expect(taken.due.map((d) => d.ref.window_start)).toEqual([2 * HOUR])
    schedule.computed(taken.due, c.t)
    expect(await state(later)).toBe('resolved')
    // `all` (idle or stopping) takes everything.
    void schedule.mark(ref(3 * HOUR), false)
    expect(schedule.take(true, BACKLOG_REFRESH_MS).due.map((d) => d.ref.window_start)).toEqual([3 * HOUR])
  })

  it('puts back a window taken but not computed: its batches keep waiting, also when it was marked again meanwhile', async () => {
    const c = clock()
    const schedule = new WindowSchedule(() => 10_000, c.now)
    const first = schedule.mark(ref(0), true)
    let taken = schedule.take()
    schedule.requeue(taken.due)
    expect(await state(first)).toBe('pending')
    expect(schedule.size()).toBe(1)
    // Put back as not urgent: due with the next urgent mark (its release), or as any other.
    expect(schedule.take(false, BACKLOG_REFRESH_MS).due).toEqual([])
    void schedule.mark(ref(0), true)
    taken = schedule.take(false, BACKLOG_REFRESH_MS)
    expect(taken.due).toHaveLength(1)
    // Taken again, and marked again before being put back: one entry, both resolved with it.
    const second = schedule.mark(ref(0), false)
    schedule.requeue(taken.due)
    expect(schedule.size()).toBe(1)
    taken = schedule.take(true)
    schedule.computed(taken.due, c.t)
    expect([await state(first), await state(second)]).toEqual(['resolved', 'resolved'])
  })

  it('waits ten times as long as the last computation took when that is longer than the refresh interval', () => {
    const c = clock()
    const schedule = new WindowSchedule(() => 10_000, c.now)
    void schedule.mark(ref(0), true)
    const startedAt = c.t
    const taken = schedule.take()
    c.t += 4_000 // the computation took 4 s
    schedule.computed(taken.due, startedAt)
    void schedule.mark(ref(0), false)
    expect(schedule.take().nextDueAt).toBe(startedAt + 40_000)
    c.t = startedAt + 39_999
    expect(schedule.take().due).toEqual([])
    c.t = startedAt + 40_000
    expect(schedule.take().due).toHaveLength(1)

    // A quick computation: the refresh interval again.
    void schedule.mark(ref(HOUR), true)
    const quick = schedule.take()
    c.t += 200
    schedule.computed(quick.due, c.t - 200)
    void schedule.mark(ref(HOUR), false)
    expect(schedule.take().nextDueAt).toBe(c.t - 200 + 10_000)
    // Urgent marks are taken at once whatever the last computation took.
    void schedule.mark(ref(0), true)
    expect(schedule.take().due.map((d) => d.ref.window_start)).toEqual([0])
  })

  it('takes an urgent window (it may close now) whatever its refresh interval', () => {
    const c = clock()
    const schedule = new WindowSchedule(() => 60_000, c.now)
    void schedule.mark(ref(0), true)
    schedule.computed(schedule.take().due, c.t)
    c.t += 1_000
    void schedule.mark(ref(0), false)
    expect(schedule.take().due).toEqual([])
    void schedule.mark(ref(0), true)
    expect(schedule.take().due.map((d) => d.urgent)).toEqual([true])
  })

  it('keeps marks made during a computation for a later one', async () => {
    const c = clock()
    const schedule = new WindowSchedule(() => 5_000, c.now)
    const before = schedule.mark(ref(0), true)
    const running = schedule.take().due
    // A batch stored after the computation took the window: not covered by it.
    const during = schedule.mark(ref(0), false)
    schedule.computed(running, c.t)
    expect(await state(before)).toBe('resolved')
    expect(await state(during)).toBe('pending')
    expect(schedule.size()).toBe(1)
    c.t += 5_000
    schedule.computed(schedule.take().due, c.t)
    expect(await state(during)).toBe('resolved')
  })

  it('takes everything when stopping, and a failed computation rejects its waiters', async () => {
    const c = clock()
    const schedule = new WindowSchedule(() => 60_000, c.now)
    void schedule.mark(ref(0), true)
    void schedule.mark(ref(HOUR), true)
    schedule.computed(schedule.take().due, c.t)
    const a = schedule.mark(ref(0), false)
    const b = schedule.mark(ref(HOUR), false)
    expect(schedule.take().due).toEqual([])
    const all = schedule.take(true).due
    expect(all.map((d) => d.ref.window_start).sort((x, y) => x - y)).toEqual([0, HOUR])
    for (const d of all) d.reject(new Error('ClickHouse down'))
    expect(await state(a)).toBe('rejected')
    expect(await state(b)).toBe('rejected')
  })

  it('uses the refresh interval of each window size', () => {
    const c = clock()
    const schedule = new WindowSchedule((size) => (size > HOUR ? 60_000 : 10_000), c.now)
    void schedule.mark(ref(0), true)
    void schedule.mark(ref(0, 24 * HOUR), true)
    schedule.computed(schedule.take().due, c.t)
    c.t += 10_000
    void schedule.mark(ref(0), false)
    void schedule.mark(ref(0, 24 * HOUR), false)
    const taken = schedule.take()
    expect(taken.due.map((d) => d.ref.window_size_ms)).toEqual([HOUR])
    expect(taken.nextDueAt).toBe(1_000_000 + 60_000)
  })

  it('refreshes a window quiet for longer than its interval at the next round', () => {
    const c = clock()
    const schedule = new WindowSchedule(() => 60_000, c.now)
    void schedule.mark(ref(0), true)
    schedule.computed(schedule.take().due, c.t)
    c.t += 61_000
    void schedule.mark(ref(0), false)
    expect(schedule.take().due.map((d) => d.ref.window_start)).toEqual([0])
  })

  it('forgets the oldest computation times beyond its memory (then waits an interval from the mark)', () => {
    const c = clock()
    const schedule = new WindowSchedule(() => 60_000, c.now, 2)
    for (const start of [0, HOUR, 2 * HOUR]) void schedule.mark(ref(start), true)
    schedule.computed(schedule.take().due, c.t)
    c.t += 30_000
    for (const start of [0, HOUR, 2 * HOUR]) void schedule.mark(ref(start), false)
    const taken = schedule.take()
    expect(taken.due).toEqual([])
    // Windows HOUR and 2·HOUR are remembered (due 60 s after their computation); 0 was forgotten.
    expect(taken.nextDueAt).toBe(1_000_000 + 60_000)
    c.t = 1_000_000 + 60_000
    expect(
      schedule
        .take()
        .due.map((d) => d.ref.window_start)
        .sort((a, b) => a - b),
    ).toEqual([HOUR, 2 * HOUR])
    c.t = 1_000_000 + 30_000 + 60_000
    expect(schedule.take().due.map((d) => d.ref.window_start)).toEqual([0])
  })

  it('in steps: takes one step at a time, earliest first, only once the partitions are past it, and a window once per step', async () => {
    const c = clock()
    const schedule = new WindowSchedule(() => 60_000, c.now)
    // Window 0 marked by records of two steps, window HOUR by one of the second.
    const early = schedule.mark(ref(0), false, 2 * HOUR)
    const again = schedule.mark(ref(0), false, 2 * HOUR)
    const later = schedule.mark(ref(0), false, 3 * HOUR)
    const other = schedule.mark(ref(HOUR), true, 3 * HOUR)
    expect(again).toBe(early)
    expect(schedule.size()).toBe(3)
    // The partitions are stored up to the step's end, not past it: nothing is due.
    expect(schedule.takeStep(2 * HOUR)).toBeNull()
    const first = schedule.takeStep(2 * HOUR + 1)!
    expect(first.step).toBe(2 * HOUR)
    expect(first.due.map((d) => d.ref.window_start)).toEqual([0])
    // The next step waits for the partitions, whatever the refresh interval.
    expect(schedule.takeStep(2 * HOUR + 1)).toBeNull()
    schedule.computed(first.due, c.t)
    expect(await state(early)).toBe('resolved')
    expect(await state(later)).toBe('pending')
    const second = schedule.takeStep(Infinity)!
    expect(second.step).toBe(3 * HOUR)
    expect(second.due.map((d) => d.ref.window_start).sort((a, b) => a - b)).toEqual([0, HOUR])
    schedule.computed(second.due, c.t)
    expect([await state(later), await state(other)]).toEqual(['resolved', 'resolved'])
    expect(schedule.takeStep(Infinity)).toBeNull()
  })

  it('in steps: takes windows marked without a step first, whatever the partitions', () => {
    const c = clock()
    const schedule = new WindowSchedule(() => 60_000, c.now)
    void schedule.mark(ref(0), false, 2 * HOUR)
    void schedule.mark(ref(HOUR), true)
    const taken = schedule.takeStep(-Infinity)!
    expect(taken.step).toBe(0)
    expect(taken.due.map((d) => d.ref.window_start)).toEqual([HOUR])
    expect(schedule.takeStep(-Infinity)).toBeNull()
  })
})
