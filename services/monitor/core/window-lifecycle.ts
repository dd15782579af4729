import { BoundedMap } from '../../shared/collections/bounded-map.ts'
import { chunkBySize } from '../../shared/collections/chunk-by-size.ts'
import { groupWindows, windowRefKey, windowStart, type WindowRef } from './windows/window-math.ts'

// The rules of a window's life in the monitor, apart from the I/O and timers that apply them
// (run/monitor-pipeline.ts): which window a prediction may close, what a round recomputes while
// a backlog is read, how recomputations are cut, and the windows held open by a lagging partition.

/** Windows per recomputation (one query set): at most 48, and at most a day of event time or,
 *  where the windows' sizes are known from an earlier computation, half a million predictions,
 *  so one query's work is bounded (a group of day-long windows would read days of events) while
 *  many small windows (old ones receiving labels) are read together. */
export const WINDOWS_PER_RECOMPUTE = 48
export const SPAN_PER_RECOMPUTE_MS = 86_400_000
export const ROWS_PER_RECOMPUTE = 500_000

/** The start of the window a prediction at `eventTime` may close: the one whose closing range
 *  [end + lateness, end + lateness + size) holds it. */
export const closingWindowStart = (eventTime: number, sizeMs: number, latenessMs: number): number => windowStart(eventTime - latenessMs, sizeMs) - sizeMs

/** The event time a window closes at: its end plus the allowed lateness. */
export const windowCloseAt = (start: number, sizeMs: number, latenessMs: number): number => start + sizeMs + latenessMs

export interface RoundState {
  /** The pipeline is stopping. */
  closing: boolean
  /** No batch in flight and none for a round delay. */
  idle: boolean
  /** The last batch stopped short of the end of some partition. */
  behind: boolean
  /** Refresh interval while a backlog is read; 0 turns the backlog rule off. */
  backlogRefreshMs: number
}

export interface RoundPlan {
  /** Take every marked window, whatever its refresh interval. */
  takeAll: boolean
  /** A backlog is being read: windows that cannot close wait `backlogRefreshMs`. */
  backlog: boolean
}

/**
 * The refresh interval saves work while batches keep coming; once they stop (caught up, or
 * stopping) every marked window is brought up to date. While a backlog is read, windows are
 * computed when they may close and the others at most once per backlog interval: refreshing
 * windows that the backlog closes moments later took most of ClickHouse while catching up.
 */
export function planRound(s: RoundState): RoundPlan {
  return { takeAll: s.closing || s.idle, backlog: !s.closing && !s.idle && s.behind && s.backlogRefreshMs > 0 }
}

/** During a backlog, the urgent windows whose marks are younger than the backlog interval may be
 *  deferred when a lagging partition holds them open (computed once it passes their close time). */
export function deferrableKeys(
  due: { ref: WindowRef; urgent: boolean; markedAt: number }[],
  plan: RoundPlan,
  now: number,
  backlogRefreshMs: number,
): Set<string> {
  if (!plan.backlog) return new Set()
  return new Set(due.filter((d) => d.urgent && now - d.markedAt < backlogRefreshMs).map((d) => windowRefKey(d.ref)))
}

/** Windows cut into recomputations: per model and size, by start, at most WINDOWS_PER_RECOMPUTE
 *  windows and, each counted by its known predictions (`rowsOf`) or else by its size, at most
 *  ROWS_PER_RECOMPUTE or SPAN_PER_RECOMPUTE_MS (at least one window). */
export function recomputeChunks(refs: Iterable<WindowRef>, rowsOf: (ref: WindowRef) => number | undefined = () => undefined): WindowRef[][] {
  // Loads in millionths (rounded down), so that a day of hourly windows adds up to one.
  const load = (ref: WindowRef): number => {
    const rows = rowsOf(ref)
    return Math.floor((rows === undefined ? ref.window_size_ms / SPAN_PER_RECOMPUTE_MS : rows / ROWS_PER_RECOMPUTE) * 1e6)
  }
  return [...groupWindows(refs).values()].flatMap((group) => chunkBySize(group, load, 1e6, WINDOWS_PER_RECOMPUTE))
}

/**
 * Windows found closable but held open by a predictions partition not read far enough, with the
 * event time they close at (end plus allowed_lateness). They are released once their model's low
 * watermark reaches it, instead of being read again with every batch until then. Bounded;
 * forgetting one only makes it be retried with the next batch that touches it.
 */
export class HeldOpenWindows {
  private readonly held: BoundedMap<string, { ref: WindowRef; closeAt: number }>

  constructor(max = 10_000) {
    this.held = new BoundedMap(max)
  }

  hold(ref: WindowRef, closeAt: number): void {
    this.held.set(windowRefKey(ref), { ref, closeAt })
  }

  has(ref: WindowRef): boolean {
    return this.held.has(windowRefKey(ref))
  }

  /** A held window computed meanwhile (another batch marked it): releasing it would judge it twice. */
  forget(ref: WindowRef): void {
    this.held.delete(windowRefKey(ref))
  }

  /** Whether the windows whose close time their model's low watermark has reached fill a
   *  recomputation: a day of event time, or WINDOWS_PER_RECOMPUTE windows. */
  fillRecompute(lowOf: (modelId: string) => number): boolean {
    const passed = this.passed(lowOf)
    return passed.reduce((span, ref) => span + ref.window_size_ms, 0) >= SPAN_PER_RECOMPUTE_MS || passed.length >= WINDOWS_PER_RECOMPUTE
  }

  /** Removes and returns the windows whose close time their model's low watermark has reached. */
  release(lowOf: (modelId: string) => number): WindowRef[] {
    const released = this.passed(lowOf)
    for (const ref of released) this.held.delete(windowRefKey(ref))
    return released
  }

  private passed(lowOf: (modelId: string) => number): WindowRef[] {
    const passed: WindowRef[] = []
    for (const [, { ref, closeAt }] of this.held) if (closeAt <= lowOf(ref.model_id)) passed.push(ref)
    return passed
  }

  get size(): number {
    return this.held.size
  }
}
