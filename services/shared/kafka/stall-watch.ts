export interface PartitionOffsets {
  topic: string
  partition: number
  /** The group's committed offset (-1: nothing committed yet). */
  committed: bigint
  low: bigint
  high: bigint
}

export interface Stall {
  topic: string
  partition: number
  /** How long records have waited without the committed offset moving, seconds (0: moving or no lag). */
  seconds: number
}

/**
 * Whether a consumer makes progress, judged from outside the loop: a partition with records
 * behind its committed offset that has not moved for `stallMs` is stuck, whatever the cause (a
 * batch retried over and over, a fetch that keeps failing, a blocked event loop). A partition
 * with no lag is never stuck; not being able to check for `stallMs` counts as stuck too.
 */
export class StallWatch {
  private readonly partitions = new Map<string, { topic: string; partition: number; committed: bigint; lag: bigint; since: number }>()
  private checkedAt: number

  constructor(
    private readonly stallMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.checkedAt = now()
  }

  /** One observation of every partition currently assigned (others are forgotten). */
  observe(offsets: PartitionOffsets[]): void {
    const now = this.now()
    const seen = new Set<string>()
    for (const o of offsets) {
      const key = `${o.topic}:${o.partition}`
      seen.add(key)
      const position = o.committed < 0n ? o.low : o.committed
      const lag = o.high - position
      const previous = this.partitions.get(key)
      const moved = !previous || previous.committed !== position || lag <= 0n
      this.partitions.set(key, { topic: o.topic, partition: o.partition, committed: position, lag, since: moved ? now : previous.since })
    }
    for (const key of this.partitions.keys()) if (!seen.has(key)) this.partitions.delete(key)
    this.checkedAt = now
  }

  stalls(): Stall[] {
    const now = this.now()
    return [...this.partitions.values()].map((p) => ({ topic: p.topic, partition: p.partition, seconds: p.lag > 0n ? (now - p.since) / 1000 : 0 }))
  }

  /** Seconds since the last successful observation. */
  uncheckedSeconds(): number {
    return (this.now() - this.checkedAt) / 1000
  }

  healthy(): boolean {
    const limit = this.stallMs / 1000
    return this.uncheckedSeconds() < limit && this.stalls().every((s) => s.seconds < limit)
  }
}
