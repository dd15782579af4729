// The rules of data-time steps (MONITOR_STEP_MS), apart from the pipeline that applies them:
// which step a record is computed in, and through which data time every partition is stored.

/** How far one assigned partition's records are stored. */
export interface StoredPartition {
  /** Newest record time stored (and its windows marked). */
  max: number
  /** The latest batch reached the partition's end. */
  caughtUp: boolean
  /** When that was noted (processing time). */
  at: number
  /** The offset after the newest record handled (stored or dead-lettered), when known. */
  next?: bigint
}

/** The step a record stamped `timestamp` is computed in: the one it ends in (a time on the grid
 *  belongs to the step it ends), or the next one to compute when that one was computed already. */
export function stepOf(timestamp: number, stepMs: number, computedStep: number): number {
  return Math.max(Math.ceil(timestamp / stepMs) * stepMs, computedStep + stepMs)
}

/** The data time every partition is stored through; a partition read to its end with nothing new
 *  for `idleMs` holds nothing back (Infinity when all are so), none known: nothing (-Infinity). */
export function readyThrough(partitions: Iterable<StoredPartition>, now: number, idleMs: number): number {
  let low = Infinity
  let any = false
  for (const p of partitions) {
    any = true
    if (!looksIdle(p, now, idleMs)) low = Math.min(low, p.max)
  }
  return any ? low : -Infinity
}

/** Whether readyThrough lets the partition hold nothing back. */
export function looksIdle(p: StoredPartition, now: number, idleMs: number): boolean {
  return p.caughtUp && now - p.at >= idleMs
}

/** An idle-looking partition is idle only if Kafka has nothing beyond what was handled: records
 *  fetched but not yet stored (a batch retried while ClickHouse is down stops the fetches too)
 *  would otherwise land in a step computed without them. `end`: the partition's end offset now. */
export function confirmedIdle(p: StoredPartition, end: bigint | undefined): boolean {
  return p.next !== undefined && end !== undefined && end <= p.next
}

/** The partitions of these topics another instance reads ('topic:partition'): a step waits only
 *  for the partitions its own instance reads, so steps need the whole assignment. */
export function partitionsElsewhere(assigned: { topic: string; partition: number }[], topics: string[], partitions: number): string[] {
  const mine = new Set(assigned.map((p) => `${p.topic}:${p.partition}`))
  return topics.flatMap((topic) => Array.from({ length: partitions }, (_, p) => `${topic}:${p}`)).filter((key) => !mine.has(key))
}
