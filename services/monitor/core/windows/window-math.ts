/** Start of the tumbling window of `sizeMs` that contains `timeMs` (UTC, aligned to the epoch). */
export function windowStart(timeMs: number, sizeMs: number): number {
  return Math.floor(timeMs / sizeMs) * sizeMs
}

/** A window to (re)compute: one model, one window size, one start. */
export interface WindowRef {
  model_id: string
  window_size_ms: number
  window_start: number
}

export const windowRefKey = (w: WindowRef): string => `${w.model_id}|${w.window_size_ms}|${w.window_start}`

/** A window marked for a data-time step (0, unstepped: the window's own key). */
export const stepWindowKey = (w: WindowRef, step: number): string => (step === 0 ? windowRefKey(w) : `${windowRefKey(w)}|${step}`)

/** Windows grouped by model and window size, each group sorted by start. */
export function groupWindows(refs: Iterable<WindowRef>): Map<string, WindowRef[]> {
  const groups = new Map<string, WindowRef[]>()
  for (const ref of refs) {
    const key = `${ref.model_id}|${ref.window_size_ms}`
    const list = groups.get(key)
    if (list) list.push(ref)
    else groups.set(key, [ref])
  }
  for (const list of groups.values()) list.sort((a, b) => a.window_start - b.window_start)
  return groups
}

/** The windows one batch touched, each once per data-time step (0: unstepped), with whether it
 *  may close now (urgent) and whether only that brought it here (closeCheck: none of the batch's
 *  records is in it). */
export class DirtyWindows {
  private readonly refs = new Map<string, { ref: WindowRef; urgent: boolean; step: number; closeCheck: boolean }>()

  mark(modelId: string, sizes: number[], eventTime: number, step = 0): void {
    for (const size of sizes) this.add({ model_id: modelId, window_size_ms: size, window_start: windowStart(eventTime, size) }, false, step)
  }

  /** `closeCheck`: the window may close now, and none of the records is in it. */
  add(ref: WindowRef, urgent = false, step = 0, closeCheck = false): void {
    const key = stepWindowKey(ref, step)
    const seen = this.refs.get(key)
    if (seen) {
      seen.urgent ||= urgent
      seen.closeCheck &&= closeCheck
    } else this.refs.set(key, { ref, urgent, step, closeCheck })
  }

  /** Takes all refs with their urgency and step. */
  drain(): { ref: WindowRef; urgent: boolean; step: number; closeCheck: boolean }[] {
    const entries = [...this.refs.values()]
    this.refs.clear()
    return entries
  }
}
