import { ALL_SEGMENTS, OVERFLOW_SEGMENT, type WindowKey, type WindowSummary } from '../../../shared/records/window-metrics.ts'
import { emptySummary } from './window-aggregate.ts'

/**
 * Empty summaries for the segments a closed window lacks although earlier windows had them: a
 * segment that stopped sending has no rows, so without these its volume would never be judged
 * at 0. Judged like any window (a volume anomaly against the same hours before, so a segment
 * quiet at that hour by habit raises nothing). An attribute whose values overflowed into
 * `attribute=__other__` in that window is left out: its missing values may sit in the overflow.
 */
export function absentSegments(closed: WindowSummary[], seenBefore: WindowKey[]): WindowSummary[] {
  const out: WindowSummary[] = []
  // Per window, the rollup of its busiest version names the version the empty segments get.
  const rollups = new Map<number, WindowSummary>()
  for (const s of closed) {
    const seen = rollups.get(s.key.window_start)
    if (s.key.segment === ALL_SEGMENTS && (!seen || seen.volume < s.volume)) rollups.set(s.key.window_start, s)
  }
  for (const [start, all] of rollups) {
    const present = new Set(closed.filter((s) => s.key.window_start === start).map((s) => s.key.segment))
    const segments = new Set(seenBefore.filter((k) => k.window_start < start && k.segment !== ALL_SEGMENTS).map((k) => k.segment))
    for (const segment of segments) {
      const attribute = segment.slice(0, segment.indexOf('='))
      if (present.has(segment) || present.has(`${attribute}=${OVERFLOW_SEGMENT}`) || segment === `${attribute}=${OVERFLOW_SEGMENT}`) continue
      out.push(emptySummary({ ...all.key, segment }))
    }
  }
  return out
}
