import { deferred } from '../../../shared/async/deferred.ts'
import { BoundedMap } from '../../../shared/collections/bounded-map.ts'
import { stepWindowKey, windowRefKey, type WindowRef } from './window-math.ts'

/** A window that is not urgent waits at least this many times as long as its last computation took. */
const REFRESH_PER_COMPUTE = 10

/** A window waiting to be recomputed, and the promise the batches that marked it wait on. */
export interface PendingWindow {
  ref: WindowRef
  /** The data-time step it is to be computed as of (0: unstepped, as of what is stored). */
  step: number
  /** Recompute in the next round whatever its refresh interval (it may close now: every urgent
   *  mark is one for its close). */
  urgent: boolean
  /** Every mark of this entry only checks whether the window may close (no rows of it came). */
  closeCheck: boolean
  /** When the first mark of this entry was made. */
  markedAt: number
  /** ClickHouse second read after the newest marking batch's rows were stored (0: not read;
   *  only marks of windows another instance computes need it, see window-owner.ts). */
  storedAt: number
  /** Resolves once a computation that started after every mark of this entry succeeded. */
  done: Promise<void>
  resolve(): void
  reject(error: unknown): void
}

/**
 * Which marked windows a round recomputes, and who waits for them.
 *
 * A window touched again and again (the open window every batch writes into, an old window
 * still receiving labels) is recomputed at most once per refresh interval, and at most once per
 * ten times as long as its last computation took (while a backlog is read a round can take many
 * seconds: refreshing open windows then would take most of the time, and most of them close
 * soon anyway); a window that may close now is recomputed in the next round. The
 * batches that marked a window wait for the computation that covers their marks: the consumer
 * commits their offsets only then, so a crash before it replays them and nothing is lost.
 * Bounded: one entry per marked window (windows are bounded by the accepted event-time span) and
 * a bounded memory of when each window was last computed (forgetting one delays its refresh by
 * at most one interval).
 */
export class WindowSchedule {
  private readonly pending = new Map<string, PendingWindow>()
  /** Per window: when its last computation started and how long it took. */
  private readonly lastComputed: BoundedMap<string, { at: number; took: number }>

  constructor(
    /** Shortest time between two recomputations of a window of this size that is not urgent. */
    private readonly refreshMs: (sizeMs: number) => number,
    private readonly now: () => number,
    memory = 10_000,
  ) {
    this.lastComputed = new BoundedMap(memory)
  }

  /** Marks a window (for a data-time step: see takeStep); the promise resolves when a
   *  computation covering this mark succeeded. */
  mark(ref: WindowRef, urgent: boolean, step = 0, storedAt = 0, closeCheck = false): Promise<void> {
    const key = stepWindowKey(ref, step)
    let entry = this.pending.get(key)
    if (!entry) {
      // Rejections are handled by whoever waits (the consumer loop).
      const { promise: done, resolve, reject } = deferred()
      entry = { ref, step, urgent, closeCheck, markedAt: this.now(), storedAt, done, resolve, reject }
      this.pending.set(key, entry)
    } else {
      entry.urgent ||= urgent
      entry.closeCheck &&= closeCheck
      entry.storedAt = Math.max(entry.storedAt, storedAt)
    }
    return entry.done
  }

  size(): number {
    return this.pending.size
  }

  /**
   * Stepped computation: takes every window marked for the earliest step, if that step is
   * before `ready` (the data time every partition is stored past), whatever its refresh
   * interval: a step's windows are computed together, as of the step, and in step order. Windows
   * marked without a step (0) come first. Null when nothing is due.
   */
  takeStep(ready: number): { step: number; due: PendingWindow[] } | null {
    let step = Infinity
    for (const entry of this.pending.values()) step = Math.min(step, entry.step)
    if (step === Infinity || (step !== 0 && step >= ready)) return null
    const due: PendingWindow[] = []
    for (const [key, entry] of this.pending) {
      if (entry.step !== step) continue
      due.push(entry)
      this.pending.delete(key)
    }
    return { step, due }
  }

  /**
   * Takes the windows due now out of the schedule (`all`: every marked window: when stopping, or
   * when no batch came for a while), and says when the earliest of the others becomes due.
   * `backlogRefreshMs`: while a backlog is read (see MonitorPipeline), a window that is not urgent
   * waits at least this long (0: no backlog); most are marked urgent (may close) before that and
   * computed once.
   */
  take(all = false, backlogRefreshMs = 0): { due: PendingWindow[]; nextDueAt: number | null } {
    const now = this.now()
    const due: PendingWindow[] = []
    let nextDueAt: number | null = null
    for (const [key, entry] of this.pending) {
      const last = this.lastComputed.get(key)
      // A window this process has not computed yet waits a refresh interval from its first mark:
      // while a backlog is read, most windows then close (urgent) before that, and are computed once.
      const refresh = Math.max(this.refreshMs(entry.ref.window_size_ms), REFRESH_PER_COMPUTE * (last?.took ?? 0), backlogRefreshMs)
      const dueAt = entry.urgent ? now : (last?.at ?? entry.markedAt) + refresh
      if (all || dueAt <= now) {
        due.push(entry)
        this.pending.delete(key)
      } else if (nextDueAt === null || dueAt < nextDueAt) nextDueAt = dueAt
    }
    return { due, nextDueAt }
  }

  /**
   * Puts taken windows back, not computed: whoever waits on them keeps waiting, for the
   * computation that covers a later take (merged with a mark made meanwhile).
   */
  requeue(entries: PendingWindow[]): void {
    for (const entry of entries) {
      const key = stepWindowKey(entry.ref, entry.step)
      const newer = this.pending.get(key)
      if (!newer) {
        this.pending.set(key, { ...entry, urgent: false })
        continue
      }
      newer.closeCheck &&= entry.closeCheck
      newer.storedAt = Math.max(newer.storedAt, entry.storedAt)
      newer.done.then(entry.resolve, entry.reject)
    }
  }

  /** The windows were recomputed by a computation that started at `startedAt` (and ended now). */
  computed(entries: PendingWindow[], startedAt: number): void {
    const took = Math.max(0, this.now() - startedAt)
    for (const entry of entries) {
      const key = windowRefKey(entry.ref)
      this.lastComputed.set(key, { at: startedAt, took })
      entry.resolve()
    }
  }
}
