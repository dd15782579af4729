import type { MonitorTrigger } from '../../shared/events/types.ts'

// Decisions are taken per step of data time, not when a trigger happens to arrive: the same
// events then give the same decisions however far the monitor lags or the policy trails it.

/** The data time a trigger is about: when the monitor derived it, or its latest window's end. */
export function triggerDataTime(trigger: MonitorTrigger): number {
  return trigger.data_time > 0 ? trigger.data_time : trigger.last_seen + trigger.window_size_ms
}

/** The end of the decision step holding `dataTime` (a time on the step grid belongs to the step it ends). */
export function stepEnd(dataTime: number, intervalMs: number): number {
  return Math.ceil(dataTime / intervalMs) * intervalMs
}

/** How far the monitor is, as the policy sees it. */
export interface MonitorMark {
  /** Data time the monitor has finished: stored, recomputed, detectors run, alerts published. */
  finished(): Promise<number>
  /** End offsets of the triggers topic's partitions now (read after `finished`). */
  triggerEnds(): Promise<Map<number, bigint>>
}

/** For a policy without a monitor to wait for (tests, replays of stored triggers): every step is finished. */
export const NO_MONITOR: MonitorMark = {
  finished: async () => Infinity,
  triggerEnds: async () => new Map(),
}

/**
 * When a step may be decided: the monitor has finished its data, and the policy has read every
 * trigger published until then (the end offset seen when the mark first passed the step).
 */
export class StepGate {
  /** Per partition and step end: the offset the policy must have consumed. */
  private readonly required = new Map<string, bigint>()

  /** True when some of the steps was passed by the monitor and has no requirement yet (only then
   *  are the topic's ends worth reading). */
  needsEnds(partition: number, steps: Iterable<number>, finished: number): boolean {
    for (const step of steps) if (step <= finished && !this.required.has(`${partition}:${step}`)) return true
    return false
  }

  /** Notes the monitor's mark and the topic's ends for the pending steps of a partition. */
  observe(partition: number, steps: number[], finished: number, ends: Map<number, bigint>): void {
    for (const step of steps) {
      const key = `${partition}:${step}`
      if (step > finished || this.required.has(key)) continue
      this.required.set(key, ends.get(partition) ?? 0n)
    }
  }

  /** True once the step was passed by the monitor and everything published by then was consumed. */
  due(partition: number, step: number, consumed: bigint): boolean {
    const need = this.required.get(`${partition}:${step}`)
    return need !== undefined && consumed >= need
  }

  forget(partition: number, step: number): void {
    this.required.delete(`${partition}:${step}`)
  }
}
