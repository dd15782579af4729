import { windowRefKey, type WindowRef } from './window-math.ts'

/** The first retry of a failing window, and the longest wait between two. */
const FIRST_RETRY_MS = 60_000
const MAX_RETRY_MS = 3_600_000

/**
 * Windows whose computation failed for a reason of their own (ClickHouse refused the query for
 * this model's configuration or rows, a detector threw), not for ClickHouse's availability: the
 * monitor moves on without them, so that one model never holds up the others or any commit, and
 * tries each again a minute later, then at doubling intervals up to an hour.
 */
export class FailingWindows {
  private readonly entries = new Map<string, { ref: WindowRef; attempts: number; retryAt: number }>()

  /** The window failed (again) at `now`. */
  failed(ref: WindowRef, now: number): void {
    const key = windowRefKey(ref)
    const attempts = (this.entries.get(key)?.attempts ?? 0) + 1
    this.entries.set(key, { ref, attempts, retryAt: now + Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (attempts - 1)) })
  }

  /** A window known to have failed before (a previous run's), to be tried again at once. */
  known(ref: WindowRef): void {
    const key = windowRefKey(ref)
    if (!this.entries.has(key)) this.entries.set(key, { ref, attempts: 0, retryAt: -Infinity })
  }

  /** The window was computed; returns whether it was failing. */
  recovered(ref: WindowRef): boolean {
    return this.entries.delete(windowRefKey(ref))
  }

  /** The failing windows whose retry is due, taken: not returned again unless they fail again. */
  takeDue(now: number): WindowRef[] {
    const due: WindowRef[] = []
    for (const entry of this.entries.values()) {
      if (entry.retryAt > now) continue
      entry.retryAt = Infinity
      due.push(entry.ref)
    }
    return due
  }

  /** Failing windows per model. */
  countsByModel(): Map<string, number> {
    const counts = new Map<string, number>()
    for (const { ref } of this.entries.values()) counts.set(ref.model_id, (counts.get(ref.model_id) ?? 0) + 1)
    return counts
  }
}
